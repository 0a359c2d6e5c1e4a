#include "passes/frame_builder.hpp"
#include "passes/lifting.hpp"
#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMap.h>
#include <clang/AST/StmtCXX.h>
#include <clang/Basic/SourceManager.h>
#include <algorithm>
#include <clang/AST/RecursiveASTVisitor.h>
#include <functional>
#include <set>

namespace zsync_gen {

namespace {

struct VarSite {
    const clang::VarDecl* var;
    Scope* scope;
    const clang::Stmt* declared_by = nullptr;
};

bool stmt_supported(const clang::Stmt* s) {
    switch (s->getStmtClass()) {
#define ZSYNC_STMT(C) case clang::Stmt::C##Class: return true;
#define ZSYNC_AROUND_CALL(C)
#define ZSYNC_DENIED(C, R, F)
#include "supported.def"
    default: return false;
    }
}

bool around_call(const clang::Stmt* s) {
    switch (s->getStmtClass()) {
#define ZSYNC_STMT(C)
#define ZSYNC_AROUND_CALL(C) case clang::Stmt::C##Class: return true;
#define ZSYNC_DENIED(C, R, F)
#include "supported.def"
    default: return false;
    }
}

bool denied(const clang::Stmt* s, std::string& reason, std::string& fix) {
    switch (s->getStmtClass()) {
#define ZSYNC_STMT(C)
#define ZSYNC_AROUND_CALL(C)
#define ZSYNC_DENIED(C, R, F) case clang::Stmt::C##Class: reason = R; fix = F; return true;
#include "supported.def"
    default: return false;
    }
}

bool is_lock_type(const std::string& t) {
    for (const char* n : {"std::lock_guard", "std::unique_lock", "std::scoped_lock", "std::shared_lock", "std::mutex",
                          "std::recursive_mutex", "std::shared_mutex", "std::timed_mutex"})
        if (t.rfind(n, 0) == 0) return true;
    return false;
}

class Builder {
public:
    Builder(Context& cx, Suspension& sus, FunctionModel& m, clang::ParentMap& pm) : cx_(cx), sus_(sus), m_(m), pm_(pm) {}

    Scope* new_scope(Scope::Kind k, const clang::Stmt* s, Scope* parent) {
        m_.scopes.push_back(std::make_unique<Scope>());
        Scope* sc = m_.scopes.back().get();
        if (k != Scope::Kind::range_iteration && k != Scope::Kind::function) m_.scope_of[s] = sc;
        sc->kind = k;
        sc->stmt = s;
        sc->parent = parent;
        if (parent) parent->children.push_back(sc);
        return sc;
    }

    void walk(const clang::Stmt* s, Scope* sc) {
        if (!s) return;
        std::string reason, fix;
        if (denied(s, reason, fix)) {
            cx_.diags.error(s->getBeginLoc(), reason, fix);
            return;
        }
        if (!llvm::isa<clang::Expr>(s) && !stmt_supported(s)) {
            cx_.diags.error(s->getBeginLoc(), std::string("statement kind '") + s->getStmtClassName() +
                            "' is not supported in a suspending function (codegen/src/supported.def)",
                            "rewrite it with the supported statements, or move it into a function that does not suspend");
            return;
        }
        using namespace clang;
        if (const auto* c = dyn_cast<CompoundStmt>(s)) {
            Scope* ns = new_scope(Scope::Kind::block, s, sc);
            for (const Stmt* ch : c->body()) walk(ch, ns);
        } else if (const auto* f = dyn_cast<ForStmt>(s)) {
            Scope* ns = new_scope(Scope::Kind::for_init, s, sc);
            walk(f->getInit(), ns);
            condition_variable(f->getConditionVariable(), ns, f);
            walk(f->getCond(), ns);
            walk(f->getInc(), ns);
            walk(f->getBody(), ns);
        } else if (const auto* r = dyn_cast<CXXForRangeStmt>(s)) {
            Scope* outer = new_scope(Scope::Kind::range_outer, s, sc);
            walk(r->getInit(), outer);
            walk(r->getRangeInit(), outer);
            for (const DeclStmt* d : {r->getRangeStmt(), r->getBeginStmt(), r->getEndStmt()})
                if (d)
                    for (const Decl* dd : d->decls())
                        if (const auto* v = dyn_cast<VarDecl>(dd)) range_vars_.push_back({v, outer, r});
            Scope* iter = new_scope(Scope::Kind::range_iteration, s, outer);
            range_vars_.push_back({r->getLoopVariable(), iter, r});
            walk(r->getBody(), iter);
        } else if (const auto* i = dyn_cast<IfStmt>(s)) {
            Scope* ns = sc;
            if (i->getInit() || i->getConditionVariable()) ns = new_scope(Scope::Kind::if_init, s, sc);
            walk(i->getInit(), ns);
            condition_variable(i->getConditionVariable(), ns, i);
            walk(i->getCond(), ns);
            walk(i->getThen(), ns);
            walk(i->getElse(), ns);
        } else if (const auto* sw = dyn_cast<SwitchStmt>(s)) {
            Scope* ns = sc;
            if (sw->getInit() || sw->getConditionVariable()) ns = new_scope(Scope::Kind::switch_init, s, sc);
            walk(sw->getInit(), ns);
            condition_variable(sw->getConditionVariable(), ns, sw);
            walk(sw->getCond(), ns);
            walk(sw->getBody(), ns);
        } else if (const auto* w = dyn_cast<WhileStmt>(s)) {
            if (w->getConditionVariable()) {
                while_vars_.push_back({w->getConditionVariable(), sc, w});
                walk(w->getConditionVariable()->getInit(), sc);
            }
            walk(w->getCond(), sc);
            walk(w->getBody(), sc);
        } else if (const auto* d = dyn_cast<DeclStmt>(s)) {
            for (const Decl* dd : d->decls()) {
                if (const auto* v = dyn_cast<VarDecl>(dd)) {
                    if (v->isLocalVarDecl() && !v->isStaticLocal()) var(v, sc, d);
                    walk(v->getInit(), sc);
                }
            }
        } else if (const auto* l = dyn_cast<LambdaExpr>(s)) {
            lambda(l);
            for (const Expr* init : l->capture_inits()) walk(init, sc);
        } else {
            if (const auto* call = dyn_cast<CallExpr>(s)) point(call, sc);
            for (const Stmt* ch : s->children()) walk(ch, sc);
        }
    }

    void var(const clang::VarDecl* v, Scope* sc, const clang::Stmt* by) { sites_.push_back({v, sc, by}); }
    // `if (auto r = io.yield())`: the variable, and its initializer (which may suspend).
    void condition_variable(const clang::VarDecl* v, Scope* sc, const clang::Stmt* owner) {
        if (!v) return;
        var(v, sc, owner);
        walk(v->getInit(), sc);
    }

    void lambda(const clang::LambdaExpr* l) {
        struct Finder : clang::RecursiveASTVisitor<Finder> {
            std::vector<const clang::CallExpr*> calls;
            bool VisitCallExpr(clang::CallExpr* c) { calls.push_back(c); return true; }
        } finder;
        finder.TraverseStmt(l->getBody());
        for (const clang::CallExpr* c : finder.calls) {
            CallClass k = sus_.classify(c);
            if (k.kind == CallClass::leaf_call || k.kind == CallClass::embedded)
                cx_.diags.error(c->getBeginLoc(), "a suspending call inside a lambda: a lambda has no frame of its own",
                                "make the lambda a named function annotated [[clang::annotate(\"zsync::stackless\")]]");
        }
        lambdas_.push_back(l);
    }

    void point(const clang::CallExpr* call, Scope* sc) {
        CallClass k = sus_.classify(call);
        if (k.kind != CallClass::leaf_call && k.kind != CallClass::embedded) return;
        auto p = std::make_unique<SuspendPoint>();
        p->call = call;
        p->scope = sc;
        p->kind = k.kind == CallClass::leaf_call ? SuspendKind::leaf : SuspendKind::embedded;
        p->leaf = k.leaf;
        if (k.kind == CallClass::embedded) {
            callee_decls_.push_back({p.get(), k.callee});
        }
        m_.points.push_back(std::move(p));
    }

    // The statement a suspending call is the whole of, or nullptr (then it sits inside an expression).
    const clang::Stmt* statement_of(const clang::CallExpr* call) {
        using namespace clang;
        const Stmt* cur = call;
        const Stmt* parent = pm_.getParent(cur);
        bool through_assignment = false;
        while (parent) {
            if (const auto* r = dyn_cast<ReturnStmt>(parent)) return r;
            if (const auto* d = dyn_cast<DeclStmt>(parent)) {
                if (!d->isSingleDecl()) return nullptr;
                const Stmt* owner = pm_.getParent(d);
                if (const auto* w = dyn_cast_or_null<WhileStmt>(owner); w && w->getConditionVariableDeclStmt() == d) {
                    cx_.diags.error(call->getBeginLoc(), "a suspending call initialising a while loop's condition variable",
                                    "declare the variable before the loop and assign it at the end of the body");
                    return d;
                }
                if (const auto* f = dyn_cast_or_null<ForStmt>(owner); f && f->getConditionVariableDeclStmt() == d) {
                    cx_.diags.error(call->getBeginLoc(), "a suspending call initialising a for loop's condition variable",
                                    "declare the variable before the loop");
                    return d;
                }
                return d;
            }
            if (is_statement_context(parent, cur)) return cur;
            if (const auto* b = dyn_cast<BinaryOperator>(parent)) {
                if (!b->isAssignmentOp() || b->getRHS() != cur || through_assignment)
                    return nullptr;
                through_assignment = true;
            } else if (const auto* o = dyn_cast<CXXOperatorCallExpr>(parent)) {
                if (!o->isAssignmentOp() || o->getNumArgs() != 2 || through_assignment) return nullptr;
                if (o->getArg(1)->IgnoreImplicit() != cur && o->getArg(1) != cur) {
                    // the call must be the right operand
                    const Stmt* rhs = o->getArg(1);
                    bool found = false;
                    for (const Stmt* x = cur; x; x = pm_.getParent(x)) {
                        if (x == rhs) { found = true; break; }
                        if (x == o) break;
                    }
                    if (!found) return nullptr;
                }
                through_assignment = true;
            } else if (const auto* ce = dyn_cast<CXXConstructExpr>(parent)) {
                if (ce->getNumArgs() != 1) return nullptr;
            } else if (const auto* cast = dyn_cast<CStyleCastExpr>(parent)) {
                if (!cast->getType()->isVoidType()) return nullptr;
            } else if (!around_call(parent)) {
                return nullptr;
            }
            cur = parent;
            parent = pm_.getParent(cur);
        }
        return nullptr;
    }

    Context& cx_;
    Suspension& sus_;
    FunctionModel& m_;
    clang::ParentMap& pm_;
    std::vector<VarSite> sites_, range_vars_, while_vars_;
    std::vector<const clang::LambdaExpr*> lambdas_;
    std::vector<std::pair<SuspendPoint*, const clang::FunctionDecl*>> callee_decls_;
};

bool within(Context& cx, const clang::Stmt* outer, unsigned at) {
    return cx.offset(outer->getBeginLoc()) <= at && at <= cx.offset(outer->getEndLoc());
}

// Whether argument `i` (or the object, i == -1) of a leaf call is printed by its Operation template.
bool leaf_reads(const Leaf& leaf, int i) {
    if (std::string(leaf.operation) == "@inplace") return i == 0;
    // The Operation template and a conversion template (Future::await's reads the Io and the object).
    const std::string op = std::string(leaf.operation) + " " + leaf.convert;
    const std::string key = i < 0 ? "$self" : "$" + std::to_string(i);
    for (size_t at = op.find(key); at != std::string::npos; at = op.find(key, at + 1)) {
        const size_t end = at + key.size();
        if (i < 0 || end >= op.size() || !isdigit(static_cast<unsigned char>(op[end]))) return true;
    }
    return false;
}

// A parameter the frame never reads needs no storage: typically the Io, which a frame only hands to
// leaves (the executor performs their Operations with its own Io) or to callees that do the same.
void mark_dead_parameters(Context& cx, FunctionModel& m) {
    struct Uses : clang::RecursiveASTVisitor<Uses> {
        std::map<const clang::VarDecl*, std::vector<const clang::DeclRefExpr*>> refs;
        bool VisitDeclRefExpr(clang::DeclRefExpr* d) {
            if (const auto* v = llvm::dyn_cast<clang::VarDecl>(d->getDecl())) refs[v].push_back(d);
            return true;
        }
    } uses;
    uses.TraverseStmt(const_cast<clang::Stmt*>(m.decl->getBody()));
    for (FrameVar* p : m.params) {
        const clang::QualType t = p->decl->getType();
        if (t->isReferenceType() || t.isDestructedType() != clang::QualType::DK_none) continue;
        bool read = false;
        for (const clang::DeclRefExpr* d : uses.refs[p->decl]) {
            // Up through implicit conversions and copies to the call that receives it.
            const clang::Stmt* cur = d;
            const clang::Stmt* up = m.parents->getParent(cur);
            while (up && (llvm::isa<clang::ImplicitCastExpr, clang::ParenExpr, clang::MaterializeTemporaryExpr>(up) ||
                          (llvm::isa<clang::CXXConstructExpr>(up) && llvm::cast<clang::CXXConstructExpr>(up)->getNumArgs() == 1))) {
                cur = up;
                up = m.parents->getParent(cur);
            }
            // io.yield(): the object reaches the call through the MemberExpr that names the method.
            if (const auto* me = llvm::dyn_cast_or_null<clang::MemberExpr>(up); me && me->getBase() == cur) {
                cur = up;
                up = m.parents->getParent(cur);
            }
            const auto* call = llvm::dyn_cast_or_null<clang::CallExpr>(up);
            const SuspendPoint* point = nullptr;
            for (auto& sp : m.points)
                if (sp->call == call) point = sp.get();
            if (!point) {
                read = true;
                break;
            }
            int index = -2;
            if (const auto* mc = llvm::dyn_cast<clang::CXXMemberCallExpr>(call); mc && mc->getCallee() == cur) index = -1;
            for (unsigned i = 0; i < call->getNumArgs(); ++i)
                if (call->getArg(i) == cur) index = static_cast<int>(i);
            if (index == -2) { read = true; break; }
            if (point->kind == SuspendKind::leaf) {
                if (leaf_reads(*point->leaf, index)) { read = true; break; }
            } else {
                if (index < 0 || !point->callee || static_cast<size_t>(index) >= point->callee->params.size() ||
                    point->callee->params[index]->kind != FrameVar::Kind::dead) { read = true; break; }
            }
        }
        if (!read) p->kind = FrameVar::Kind::dead;
    }
    (void)cx;
}

}  // namespace

Scope* scope_containing(const FunctionModel& m, const clang::Stmt* s) {
    const clang::Stmt* child = s;
    for (const clang::Stmt* p = s; p; child = p, p = m.parents->getParent(p)) {
        auto it = m.scope_of.find(p);
        if (it == m.scope_of.end() || p == s) {
            if (it != m.scope_of.end() && p == s && llvm::isa<clang::CompoundStmt>(p)) return it->second;
            continue;
        }
        Scope* sc = it->second;
        if (sc->kind == Scope::Kind::range_outer) {
            const auto* r = llvm::cast<clang::CXXForRangeStmt>(p);
            if (child == r->getBody())
                for (Scope* c : sc->children)
                    if (c->kind == Scope::Kind::range_iteration) return c;
        }
        return sc;
    }
    return m.scopes.empty() ? nullptr : m.scopes[0].get();
}

FunctionModel* build_frame(Context& cx, Suspension& sus, const clang::FunctionDecl* f) {
    if (auto it = cx.models.find(f); it != cx.models.end()) return it->second->failed ? nullptr : it->second.get();
    auto owned = std::make_unique<FunctionModel>();
    FunctionModel& m = *owned;
    cx.models[f] = std::move(owned);
    m.decl = f;
    m.failed = true;  // until the end of this function
    m.annotated = sus.annotated(f);
    m.in_main_file = cx.sm.isInMainFile(cx.sm.getFileLoc(f->getLocation()));
    m.name = qualified_name(f);
    const unsigned errors_before = cx.diags.all().size();

    if (const auto* md = llvm::dyn_cast<clang::CXXMethodDecl>(f)) {
        if (std::string why = member_frame_refusal(cx.sm, f); !why.empty()) {
            cx.diags.error(f->getLocation(), "member function '" + m.name + "' cannot have a frame: " + why,
                           "make it a free function taking the object by reference");
            return nullptr;
        }
        m.member_of = md->getParent();
        if (md->isInstance()) {
            m.self_type = (md->isConst() ? "const " : "") + cx.type_name(cx.ast.getRecordType(md->getParent()));
            m.has_self = true;
        }
    }
    if (f->isTemplated() || f->isTemplateInstantiation()) {
        cx.diags.error(f->getLocation(), "function template '" + m.name + "' cannot have a frame yet",
                       "write a non-template function (a template's frame depends on each instantiation)");
        return nullptr;
    }
    if (f->isVariadic()) {
        cx.diags.error(f->getLocation(), "variadic function '" + m.name + "' cannot have a frame", "take a span");
        return nullptr;
    }
    const clang::Stmt* body = f->getBody();
    m.parents = std::make_shared<clang::ParentMap>(const_cast<clang::Stmt*>(body));
    clang::ParentMap& pm = *m.parents;
    Builder b(cx, sus, m, pm);
    static std::set<const clang::FunctionDecl*> building;  // cycle detection across nested builds
    building.insert(f);
    struct Done { const clang::FunctionDecl* f; ~Done() { building.erase(f); } } done{f};
    Scope* fn = b.new_scope(Scope::Kind::function, body, nullptr);
    b.walk(body, fn);

    // Suspension points: source order, statement level.
    std::sort(m.points.begin(), m.points.end(), [&](const auto& x, const auto& y) {
        return cx.offset(x->call->getBeginLoc()) < cx.offset(y->call->getBeginLoc());
    });
    int state = 1;
    std::set<const clang::Stmt*> lifted_statements;  // statements with a call inside an expression
    for (auto& p : m.points) {
        p->state = state++;
        p->statement = b.statement_of(p->call);
        if (!p->statement) {
            FullExpression fe = full_expression_of(cx, pm, p->call);
            if (!fe.statement) {
                if (!cx.diags.has_errors())
                    cx.diags.error(p->call->getBeginLoc(), "a suspending call zsync-gen cannot place",
                                   "make the call a statement of its own: `auto r = call(...);` then use r");
                continue;
            }
            p->statement = fe.statement;
            lifted_statements.insert(fe.statement);
        }
        for (const clang::Stmt* s = p->call; s; s = pm.getParent(s)) m.suspending.insert(s);
        if (p->kind == SuspendKind::leaf) m.uses_operation = true;
    }
    // A statement with one call inside an expression is lifted whole: all its calls become temporaries.
    for (auto& p : m.points) {
        if (!p->statement || !lifted_statements.count(p->statement)) continue;
        auto it = m.lifted_of.find(p->statement);
        if (it == m.lifted_of.end()) {
            auto l = std::make_unique<LiftedStatement>();
            l->statement = p->statement;
            FullExpression fe = full_expression_of(cx, pm, p->call);
            l->full = fe.full;
            m.lifted_of[p->statement] = l.get();
            m.lifted.push_back(std::move(l));
            it = m.lifted_of.find(p->statement);
        }
        p->lifted = it->second;
        it->second->points.push_back(p.get());
    }
    for (auto& [p, callee] : b.callee_decls_) {
        if (callee == f) {
            if (sus.report_once(p->call)) cx.diags.error(p->call->getBeginLoc(), "recursion among suspending functions: '" + m.name +
                           "' calls itself, so its frame would contain itself",
                           "turn the recursion into a loop, or start the recursive call as its own task (io.async)");
            continue;
        }
        if (building.count(callee)) {
            if (sus.report_once(p->call)) cx.diags.error(p->call->getBeginLoc(), "recursion among suspending functions: '" + qualified_name(callee) +
                           "' is already being entered when '" + m.name + "' calls it, so a frame would contain itself",
                           "turn the recursion into a loop, or start one of the calls as its own task (io.async)");
            continue;
        }
        FunctionModel* cm = build_frame(cx, sus, callee);
        if (!cm) {
            cx.diags.note(p->call->getBeginLoc(), "called here, from '" + m.name + "'");
            continue;
        }
        p->callee = cm;
        if (std::find(m.callees.begin(), m.callees.end(), cm) == m.callees.end()) m.callees.push_back(cm);
    }

    // Which locals the frame holds: those whose scope contains a suspension point after their declaration.
    auto point_after = [&](const clang::Stmt* scope_stmt, unsigned after) {
        for (auto& p : m.points) {
            unsigned at = cx.offset(p->call->getBeginLoc());
            if (at > after && within(cx, scope_stmt, at)) return true;
        }
        return false;
    };
    auto add_var = [&](const clang::VarDecl* v, Scope* sc, bool parameter) {
        auto fv = std::make_unique<FrameVar>();
        fv->decl = v;
        fv->parameter = parameter;
        fv->scope = sc;
        clang::QualType t = v->getType();
        if (t->isReferenceType()) {
            fv->kind = FrameVar::Kind::pointer;
            fv->type = cx.type_name(t.getNonReferenceType());
        } else if (!parameter && v->isNRVOVariable()) {
            fv->kind = FrameVar::Kind::result;
            fv->type = cx.type_name(t);
        } else {
            fv->type = cx.type_name(t);
            const auto* rd = t->getAsCXXRecordDecl();
            const bool trivial = t.isTrivialType(cx.ast) && (!rd || rd->hasTrivialDestructor());
            fv->needs_destroy = t.isDestructedType() != clang::QualType::DK_none;
            if (trivial && !v->hasInit() && !parameter) fv->kind = FrameVar::Kind::plain;
            if (t->isArrayType() && (v->hasInit() || fv->needs_destroy)) {
                cx.diags.error(v->getLocation(), "array '" + v->getName().str() + "' with an initializer or destructors "
                               "alive across a suspension", "use std::array");
            }
        }
        if (fv->kind != FrameVar::Kind::pointer) {
            auto info = cx.ast.getTypeInfoInChars(t);
            fv->size = info.Width.getQuantity();
            fv->align = info.Align.getQuantity();
        } else {
            fv->size = fv->align = cx.ast.getTypeSizeInChars(cx.ast.VoidPtrTy).getQuantity();
        }
        if (!parameter && fv->kind != FrameVar::Kind::result && cx.type_unnameable(t)) {
            cx.diags.error(v->getLocation(), "local '" + v->getName().str() + "' of a type that cannot be named (a lambda "
                           "or local class) is alive across a suspension: the frame must name its type",
                           "give the type a name at namespace scope, or end the local's scope before the suspending call");
        }
        if (!parameter && is_lock_type(cx.type_name(t.getNonReferenceType().getUnqualifiedType()))) {
            cx.diags.error(v->getLocation(), "'" + v->getName().str() + "' (" + fv->type + ") is alive across a "
                           "suspension: a frame may resume on another thread, and a thread-bound lock must be "
                           "released by the thread that took it",
                           "use zsync::Mutex, or end the lock's scope before the suspending call");
        }
        if ((fv->kind == FrameVar::Kind::pointer || t->isPointerType()) && v->hasInit() && !v->isImplicit() &&
            !v->isCXXForRangeDecl()) {
            // A reference or pointer into a thread_local: &tls, tls.field, tls[i], *tls_ptr.
            struct Tls : clang::RecursiveASTVisitor<Tls> {
                const clang::VarDecl* found = nullptr;
                bool VisitDeclRefExpr(clang::DeclRefExpr* d) {
                    if (const auto* tv = llvm::dyn_cast<clang::VarDecl>(d->getDecl()); tv && tv->getTLSKind() != clang::VarDecl::TLS_None)
                        found = tv;
                    return !found;
                }
            } tls;
            tls.TraverseStmt(const_cast<clang::Expr*>(v->getInit()));
            if (tls.found)
                cx.diags.error(v->getLocation(), std::string(fv->kind == FrameVar::Kind::pointer ? "reference '" : "pointer '") +
                               v->getName().str() + "' into the thread_local '" + tls.found->getName().str() +
                               "' is alive across a suspension: the frame may resume on another thread, where it names "
                               "another thread's object",
                               "read the thread_local again after the suspending call");
            if (llvm::isa<clang::MaterializeTemporaryExpr>(v->getInit()->IgnoreImpCasts()) ||
                llvm::isa<clang::ExprWithCleanups>(v->getInit()))
                cx.diags.error(v->getLocation(), "reference '" + v->getName().str() + "' bound to a temporary is alive "
                               "across a suspension (zsync-gen does not keep such temporaries in a frame)",
                               "declare a value instead of a reference");
        }
        if (llvm::isa<clang::DecompositionDecl>(v))
            cx.diags.error(v->getLocation(), "a structured binding alive across a suspension (not supported by zsync-gen)",
                           "declare a named local and read its members");
        if (v->getType().isVolatileQualified())
            cx.diags.error(v->getLocation(), "volatile local alive across a suspension", "drop volatile");
        m.var_of[v] = fv.get();
        m.vars.push_back(std::move(fv));
        if (sc) sc->vars.push_back(m.vars.back().get());
        return m.vars.back().get();
    };
    for (const clang::ParmVarDecl* p : f->parameters()) {
        FrameVar* fv = add_var(p, nullptr, true);
        if (p->getName().empty()) fv->type = cx.type_name(p->getType().getNonReferenceType());
        m.params.push_back(fv);
    }
    for (const VarSite& s : b.sites_) {
        const bool nrvo = s.var->isNRVOVariable();
        bool init_suspends = false;
        for (auto& p : m.points)
            if (p->statement && llvm::isa<clang::DeclStmt>(p->statement) &&
                llvm::cast<clang::DeclStmt>(p->statement)->getSingleDecl() == s.var && p->kind == SuspendKind::embedded &&
                !p->lifted)
                init_suspends = true;
        if (nrvo || init_suspends || point_after(s.scope->stmt, cx.offset(s.var->getEndLoc()))) {
            add_var(s.var, s.scope, false);
            m.declared_by[s.var] = s.declared_by;
        }
    }
    // Destruction order: a plain local with a destructor declared after a frame-held one whose scope
    // encloses it would be destroyed by C++ after the frame destroys the earlier one (at a return or
    // the scope's end): the frame holds it too, and destroys both in reverse order.
    {
        auto encloses = [](const Scope* outer, const Scope* inner) {
            for (const Scope* x = inner; x; x = x->parent)
                if (x == outer) return true;
            return false;
        };
        for (const VarSite& s : b.sites_) {
            if (m.var_of.count(s.var)) continue;
            if (s.var->getType().isDestructedType() == clang::QualType::DK_none) continue;
            bool after_frame_object = false;
            for (auto& w : m.vars)
                if (!w->parameter && (w->needs_destroy || w->kind == FrameVar::Kind::result) && w->scope &&
                    encloses(w->scope, s.scope) && cx.offset(w->decl->getEndLoc()) < cx.offset(s.var->getBeginLoc()))
                    after_frame_object = true;
            if (after_frame_object) {
                add_var(s.var, s.scope, false);
                m.declared_by[s.var] = s.declared_by;
            }
        }
        // Keep m.vars and each scope's list in declaration order (the rule above appends).
        auto by_position = [&](const FrameVar* x, const FrameVar* y) {
            return cx.offset(x->decl->getBeginLoc()) < cx.offset(y->decl->getBeginLoc());
        };
        for (auto& sc : m.scopes) std::stable_sort(sc->vars.begin(), sc->vars.end(), by_position);
    }
    for (const VarSite& s : b.range_vars_)
        if (point_after(s.scope->stmt, 0)) {
            FrameVar* fv = add_var(s.var, s.scope, false);
            m.declared_by[s.var] = s.declared_by;
            // `auto&& __range = <prvalue>` extends a temporary's life: the frame holds the value itself.
            const auto* r = llvm::cast<clang::CXXForRangeStmt>(s.declared_by);
            if (r->getRangeStmt() && r->getRangeStmt()->getSingleDecl() == s.var && !r->getRangeInit()->isLValue()) {
                clang::QualType t = s.var->getType().getNonReferenceType().getUnqualifiedType();
                fv->kind = FrameVar::Kind::slot;
                fv->type = cx.type_name(t);
                fv->needs_destroy = t.isDestructedType() != clang::QualType::DK_none;
                auto info = cx.ast.getTypeInfoInChars(t);
                fv->size = info.Width.getQuantity();
                fv->align = info.Align.getQuantity();
            }
            if (s.var == r->getLoopVariable() && fv->kind == FrameVar::Kind::pointer) {
                const clang::Expr* deref = s.var->getInit();
                if (deref && !deref->IgnoreImplicit()->isLValue() && !llvm::isa<clang::DeclRefExpr>(deref->IgnoreImplicit()))
                    if (llvm::isa<clang::MaterializeTemporaryExpr>(deref->IgnoreImpCasts()) || deref->isPRValue())
                        cx.diags.error(s.var->getLocation(), "a reference loop variable bound to a temporary (a proxy "
                                       "iterator) is alive across a suspension", "declare the loop variable by value");
            }
        }
    for (auto& [v, by] : m.declared_by)
        for (const clang::Stmt* x = by; x; x = pm.getParent(x)) m.structured.insert(x);
    for (auto& p : m.points)
        for (const clang::Stmt* x = p->call; x; x = pm.getParent(x)) m.structured.insert(x);
    for (const VarSite& s : b.while_vars_)
        if (point_after(s.scope->stmt ? s.scope->stmt : body, cx.offset(s.var->getEndLoc())))
            cx.diags.error(s.var->getLocation(), "a while-condition variable alive across a suspension",
                           "declare the variable before the loop and assign it in the body");
    // Lambdas: a capture of a frame-held local by default capture cannot be rewritten.
    for (const clang::LambdaExpr* l : b.lambdas_) {
        for (const clang::LambdaCapture& c : l->captures()) {
            if (!c.capturesVariable()) continue;
            const auto* v = llvm::dyn_cast<clang::VarDecl>(c.getCapturedVar());
            if (v && m.var_of.count(v) && c.isImplicit())
                cx.diags.error(c.getLocation().isValid() ? c.getLocation() : l->getBeginLoc(),
                               "the lambda captures the frame-held local '" + v->getName().str() + "' implicitly",
                               "capture it explicitly: [&" + v->getName().str() + "] or [" + v->getName().str() + "]");
        }
    }
    m.exceptions = cx.lang.CXXExceptions;
    for (auto& p : m.points)
        for (const clang::Stmt* s = p->call; s; s = pm.getParent(s))
            if (llvm::isa<clang::CXXCatchStmt>(s)) {
                cx.diags.error(p->call->getBeginLoc(), "a suspending call inside a catch handler (C++ coroutines forbid it "
                               "too: the exception being handled would have to live across the suspension)",
                               "keep what the handler needs in a local, and suspend after the handler");
                break;
            }
    for (auto& p : m.points) {
        std::vector<const clang::Stmt*> chain;
        for (const clang::Stmt* s = p->call; s; s = pm.getParent(s))
            if (llvm::isa<clang::CXXTryStmt>(s)) chain.insert(chain.begin(), s);
        for (const clang::Stmt* t : chain)
            if (std::find(m.tries.begin(), m.tries.end(), t) == m.tries.end()) m.tries.push_back(t);
    }
    if (!m.tries.empty() && !m.exceptions)
        cx.diags.error(m.tries.front()->getBeginLoc(), "try around a suspension in a build without exceptions", "remove the try");
    plan_lifting(cx, m);
    for (auto& l : m.lifted) {
        auto it = m.scope_of.find(l->statement);
        const bool control = llvm::isa<clang::IfStmt, clang::WhileStmt, clang::DoStmt, clang::ForStmt, clang::SwitchStmt>(l->statement);
        l->scope = control && it != m.scope_of.end() ? it->second : scope_containing(m, l->statement);
    }
    mark_dead_parameters(cx, m);
    // The result.
    clang::QualType rt = f->getReturnType();
    m.returns_void = rt->isVoidType();
    if (!m.returns_void) {
        if (rt->isReferenceType())
            cx.diags.error(f->getLocation(), "a suspending function returning a reference", "return a value or a pointer");
        m.result_type = cx.type_name(rt);
        auto info = cx.ast.getTypeInfoInChars(rt);
        m.result_size = info.Width.getQuantity();
        m.result_align = info.Align.getQuantity();
    }
    for (auto& v : m.vars)
        if (v->kind == FrameVar::Kind::result) m.nrvo = v->decl;
    // Declaration order everywhere (unwinding and cleanups destroy in reverse of it); parameters first.
    std::stable_sort(m.vars.begin(), m.vars.end(), [&](const auto& x, const auto& y) {
        if (x->parameter != y->parameter) return x->parameter;
        if (x->parameter) return false;
        return cx.offset(x->decl->getBeginLoc()) < cx.offset(y->decl->getBeginLoc());
    });
    for (auto& sc : m.scopes)
        std::stable_sort(sc->vars.begin(), sc->vars.end(), [&](const FrameVar* x, const FrameVar* y) {
            return cx.offset(x->decl->getBeginLoc()) < cx.offset(y->decl->getBeginLoc());
        });
    if (cx.diags.all().size() != errors_before) return nullptr;
    m.failed = false;
    return &m;
}

}  // namespace zsync_gen
