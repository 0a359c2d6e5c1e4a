#include "passes/suspension.hpp"
#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <cstring>

namespace zsync_gen {

namespace {

const Leaf leaves[] = {
#define ZSYNC_LEAF(name, op, convert) {name, op, convert},
#include "leaves.def"
};

const char* const nonsuspending[] = {
#define ZSYNC_NONSUSPENDING(name) name,
#include "nonsuspending.def"
};

bool in_zsync_namespace(const clang::Decl* d) {
    for (const clang::DeclContext* c = d->getDeclContext(); c; c = c->getParent())
        if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(c))
            if (ns->getName() == "zsync" && ns->getParent()->getRedeclContext()->isTranslationUnit()) return true;
    return false;
}

// Whether a call hands an Io to its callee (as an argument or as the object): only such a call can
// wait on an Operation.
// An Io reaches a callee as a value, a reference, a pointer, or inside a struct it is given.
bool carries_io(clang::QualType t, int depth = 0) {
    if (is_zsync_io(t)) return true;
    t = t.getNonReferenceType();
    if (t->isPointerType()) return is_zsync_io(t->getPointeeType());
    if (depth < 2)
        if (const auto* rd = t->getAsCXXRecordDecl(); rd && rd->hasDefinition())
            for (const clang::FieldDecl* f : rd->fields())
                if (carries_io(f->getType(), depth + 1)) return true;
    return false;
}

bool passes_io(const clang::CallExpr* call) {
    for (const clang::Expr* a : call->arguments())
        if (carries_io(a->getType())) return true;
    if (const auto* m = llvm::dyn_cast<clang::CXXMemberCallExpr>(call))
        if (const clang::Expr* obj = m->getImplicitObjectArgument())
            if (is_zsync_io(obj->getType()) || (obj->getType()->isPointerType() && is_zsync_io(obj->getType()->getPointeeType())))
                return true;
    if (const auto* op = llvm::dyn_cast<clang::CXXOperatorCallExpr>(call))
        for (const clang::Expr* a : op->arguments())
            if (is_zsync_io(a->getType())) return true;
    return false;
}

struct CallCollector : clang::RecursiveASTVisitor<CallCollector> {
    std::vector<const clang::CallExpr*> calls;
    bool VisitCallExpr(clang::CallExpr* c) {
        calls.push_back(c);
        return true;
    }
    // A lambda's body is its own function: its calls are checked where the lambda is (check pass).
    bool TraverseLambdaExpr(clang::LambdaExpr*) { return true; }
};

}  // namespace

std::string member_frame_refusal(const clang::SourceManager& sm, const clang::FunctionDecl* f) {
    const auto* m = llvm::dyn_cast<clang::CXXMethodDecl>(f);
    if (!m) return "not a member function";
    const clang::CXXRecordDecl* c = m->getParent();
    if (c->isLambda()) return "it is a lambda's call operator";
    if (llvm::isa<clang::CXXConstructorDecl, clang::CXXDestructorDecl, clang::CXXConversionDecl>(m))
        return "constructors, destructors and conversions cannot suspend";
    if (m->isVirtual() && !m->hasAttr<clang::FinalAttr>() && !c->hasAttr<clang::FinalAttr>())
        return "it is virtual (a call may reach an override zsync-gen cannot see)";
    if (c->isUnion() || c->isTemplated() || c->getDescribedClassTemplate() || llvm::isa<clang::ClassTemplateSpecializationDecl>(c))
        return "its class is a union or a template";
    if (!c->getDeclContext()->getRedeclContext()->isFileContext()) return "its class is nested or local";
    if (!c->getDefinition() || !sm.isInMainFile(sm.getFileLoc(c->getDefinition()->getLocation())))
        return "its class is defined in another file (the frame is nested in the class)";
    return {};
}

// "zsync::Future<int>::await" -> "zsync::Future::await": leaves of class templates are listed once.
std::string without_template_arguments(const std::string& name) {
    std::string out;
    int depth = 0;
    for (char c : name) {
        if (c == '<') ++depth;
        else if (c == '>') --depth;
        else if (depth == 0) out += c;
    }
    return out;
}

const Leaf* find_leaf(const std::string& name) {
    const std::string plain = without_template_arguments(name);
    for (const Leaf& l : leaves)
        if (plain == l.qualified_name) return &l;
    return nullptr;
}

// Library functions that wait more than once and have an annotated free function a frame can embed
// instead (twins.def): the fix a diagnostic offers.
struct Twin {
    const char* member;
    const char* use;
};
const Twin twins[] = {
#define ZSYNC_TWIN(member, use) {member, use},
#include "twins.def"
};

bool Suspension::annotated(const clang::FunctionDecl* f) {
    bool found = false;
    for (const clang::FunctionDecl* d : f->redecls()) {
        for (const auto* a : d->specific_attrs<clang::AnnotateAttr>()) {
            llvm::StringRef s = a->getAnnotation();
            if (!s.starts_with("zsync")) continue;
            if (s != "zsync::stackless") {
                if (reported_attrs_.insert(a).second) cx_.diags.error(a->getLocation(), "unknown annotation '" + s.str() + "'",
                                "write [[clang::annotate(\"zsync::stackless\")]]");
                continue;
            }
            if (a->args_size() != 0) {
                if (reported_attrs_.insert(a).second) cx_.diags.error(a->getLocation(), "zsync::stackless takes no arguments",
                                "write [[clang::annotate(\"zsync::stackless\")]]");
                continue;
            }
            found = true;
        }
    }
    return found;
}

CallClass Suspension::classify(const clang::CallExpr* call) {
    CallClass out;
    const clang::FunctionDecl* callee = call->getDirectCallee();
    auto refuse = [&](const std::string& message, const std::string& fix) {
        out.kind = CallClass::refused;
        if (reported_.insert(call).second) cx_.diags.error(call->getBeginLoc(), message, fix);
        return out;
    };
    if (!callee) {
        if (passes_io(call))
            return refuse("a call through a pointer or a callable object that is passed an Io may suspend, "
                          "and zsync-gen cannot see which function it reaches",
                          "call a named function annotated [[clang::annotate(\"zsync::stackless\")]] directly");
        return out;
    }
    const std::string name = qualified_name(callee);
    if (const Leaf* l = find_leaf(name)) {
        // A leaf whose conversion reads the object again after the wait (Future::await): the object must
        // be one the frame can name twice, not a temporary that would be evaluated twice.
        if (std::strstr(l->convert, "$self")) {
            const auto* mc = llvm::dyn_cast<clang::CXXMemberCallExpr>(call);
            const clang::Expr* obj = mc ? mc->getImplicitObjectArgument()->IgnoreParenImpCasts() : nullptr;
            const bool named = obj && (llvm::isa<clang::DeclRefExpr>(obj) ||
                                       (llvm::isa<clang::MemberExpr>(obj) &&
                                        llvm::isa<clang::CXXThisExpr>(llvm::cast<clang::MemberExpr>(obj)->getBase()->IgnoreParenImpCasts())));
            if (!named)
                return refuse("'" + without_template_arguments(name) + "' is called on an unnamed object; in a frame it waits "
                              "between two calls on that object, so the object must be a named variable or member",
                              "store the Future or Group in a local variable, then call it on that variable");
        }
        out.kind = CallClass::leaf_call;
        out.leaf = l;
        return out;
    }
    for (const char* n : nonsuspending)
        if (without_template_arguments(name) == n) return out;
    if (const auto* m = llvm::dyn_cast<clang::CXXMethodDecl>(callee); m && m->isVirtual() && passes_io(call)) {
        if (!m->hasAttr<clang::FinalAttr>() && !m->getParent()->hasAttr<clang::FinalAttr>())
            return refuse("a virtual call to '" + name + "' that is passed an Io may suspend in an override "
                          "zsync-gen cannot see",
                          "call a non-virtual function (or mark the class final), annotated zsync::stackless");
    }
    const clang::FunctionDecl* def = callee->getDefinition();
    const bool here = def && cx_.sm.isInMainFile(cx_.sm.getFileLoc(def->getLocation()));
    // Library code (or a user's header) that suspends: annotated, defined where this file sees it (inline
    // in a module interface): its frame is generated here and embedded like any other.
    if (def && !here && !llvm::isa<clang::CXXMethodDecl>(def) && def->doesThisDeclarationHaveABody() && annotated(def)) {
        out.kind = CallClass::embedded;
        out.callee = def;
        return out;
    }
    if (here && (!llvm::isa<clang::CXXMethodDecl>(def) || member_frame_refusal(cx_.sm, def).empty())) {
        if (in_progress_.count(def) && !memo_.count(def)) {
            pending_[def].push_back(call);  // a cycle: an error if def turns out to suspend
            return out;
        }
        if (suspends(def)) {
            out.kind = CallClass::embedded;
            out.callee = def;
        }
        return out;
    }
    if (!passes_io(call)) return out;
    // std::move(io), std::swap, a vector of Futures: the standard library never waits.
    if (callee->isInStdNamespace()) return out;
    if (const auto* m = llvm::dyn_cast<clang::CXXMethodDecl>(callee); m && m->getParent()->isInStdNamespace()) return out;
    for (const Twin& t : twins)
        if (without_template_arguments(name) == t.member)
            return refuse("'" + name + "' waits more than once and has no frame of its own; its frame-capable twin "
                          "does the same",
                          std::string("call ") + t.use + " instead (a frame embeds it)");
    if (in_zsync_namespace(callee))
        return refuse("'" + name + "' suspends but has no stackless frame yet (zsync-gen knows the "
                      "leaves in leaves.def and the annotated free functions of the library)",
                      "use a leaf (Io::sleep_until, File::read/write, Io::operate, ...) or an annotated free function "
                      "(zsync::write_all, zsync::read_exact), or run this function on a stackful backend");
    if (here && llvm::isa<clang::CXXMethodDecl>(def))
        return refuse("member function '" + name + "' is passed an Io but cannot have a frame: " +
                      member_frame_refusal(cx_.sm, def),
                      "make it a free function taking the object by reference");
    if (def && !here && !llvm::isa<clang::CXXMethodDecl>(def) && def->doesThisDeclarationHaveABody()) {
        if (!suspends(def)) return out;  // visible (a header, a module interface) and it never waits
        return refuse("'" + name + "' suspends and is defined in another file without the zsync::stackless annotation",
                      "annotate its definition [[clang::annotate(\"zsync::stackless\")]] so its frame can be embedded");
    }
    if (annotated(callee))
        return refuse("'" + name + "' is annotated zsync::stackless but defined in another translation unit; its "
                      "frame cannot be embedded, and frames of other translation units are not supported yet",
                      "define '" + name + "' in this file (or inline in a module interface)");
    return refuse("'" + name + "' is passed an Io and is defined in another translation unit without the "
                  "zsync::stackless annotation: zsync-gen cannot tell whether it suspends",
                  "annotate its declaration [[clang::annotate(\"zsync::stackless\")]] and define it in this "
                  "file, or do not pass it the Io");
}

bool Suspension::suspends(const clang::FunctionDecl* def) {
    if (auto it = memo_.find(def); it != memo_.end()) return it->second;
    if (annotated(def)) return memo_[def] = true;
    if (!in_progress_.insert(def).second) return false;  // recursion: decided by the callers
    bool s = def->getBody() && body_suspends(def->getBody());
    in_progress_.erase(def);
    if (s)
        for (const clang::CallExpr* c : pending_[def])
            if (reported_.insert(c).second)
                cx_.diags.error(c->getBeginLoc(), "recursion among suspending functions: '" + qualified_name(def) +
                                "' reaches itself, so its frame would contain itself",
                                "turn the recursion into a loop, or start the recursive call as its own task "
                                "(io.async) so it gets its own frame");
    return memo_[def] = s;
}

bool Suspension::body_suspends(const clang::Stmt* body) {
    CallCollector c;
    c.TraverseStmt(const_cast<clang::Stmt*>(body));
    bool any = false;
    for (const clang::CallExpr* call : c.calls) {
        CallClass k = classify(call);
        if (k.kind == CallClass::leaf_call || k.kind == CallClass::embedded) any = true;
    }
    return any;
}

}  // namespace zsync_gen
