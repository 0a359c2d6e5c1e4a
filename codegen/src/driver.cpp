#include "driver.hpp"
#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/FileManager.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include <clang/Tooling/Tooling.h>
#include <algorithm>
#include <functional>
#include "names.hpp"
#include "passes/frame_builder.hpp"
#include "passes/layout.hpp"
#include "passes/suspension.hpp"
#include "printer/printer.hpp"

namespace zsync_gen {

namespace {

// Every function declared in the main file (namespaces, classes at any depth, friends, local classes):
// free functions in namespace scope are candidates; the others are refused if annotated.
struct Collector : clang::RecursiveASTVisitor<Collector> {
    std::vector<const clang::FunctionDecl*> free_functions, others;
    bool VisitFunctionDecl(clang::FunctionDecl* f) {
        const bool member = llvm::isa<clang::CXXMethodDecl>(f) || f->getFriendObjectKind() != clang::Decl::FOK_None ||
                            !f->getDeclContext()->getRedeclContext()->isFileContext();
        (member ? others : free_functions).push_back(f);
        return true;
    }
    bool shouldVisitTemplateInstantiations() const { return false; }
};

void collect(clang::ASTContext& ast, std::vector<const clang::FunctionDecl*>& out, std::vector<const clang::FunctionDecl*>& others) {
    const clang::SourceManager& sm = ast.getSourceManager();
    Collector c;
    for (clang::Decl* d : ast.getTranslationUnitDecl()->decls())
        if (sm.isInMainFile(sm.getFileLoc(d->getLocation()))) c.TraverseDecl(d);
    out = std::move(c.free_functions);
    others = std::move(c.others);
}

struct Consumer : clang::ASTConsumer {
    GenerateResult& result;
    const Options& options;
    Consumer(GenerateResult& r, const Options& o) : result(r), options(o) {}

    void HandleTranslationUnit(clang::ASTContext& ast) override {
        clang::SourceManager& sm = ast.getSourceManager();
        if (ast.getDiagnostics().hasErrorOccurred()) return;
        result.parsed = true;
        Diagnostics diags(&sm);
        clang::Rewriter scratch(sm, ast.getLangOpts());
        Context cx{ast, sm, ast.getLangOpts(), diags, options, scratch, {}, {}};
        Suspension sus(cx);

        std::vector<const clang::FunctionDecl*> functions, methods;
        collect(ast, functions, methods);
        std::vector<const clang::FunctionDecl*> roots;
        for (const clang::FunctionDecl* f : functions)
            if (sus.annotated(f)) {
                if (f->isDeleted()) {
                    diags.error(f->getLocation(), "'" + qualified_name(f) + "' is deleted and annotated zsync::stackless",
                                "remove the annotation");
                    continue;
                }
                if (f->isTemplated()) {
                    diags.error(f->getLocation(), "function template '" + qualified_name(f) + "' cannot have a frame yet",
                                "write a non-template function (a template's frame depends on each instantiation)");
                    continue;
                }
                if (!f->doesThisDeclarationHaveABody()) {
                    if (!f->getDefinition())
                        diags.error(f->getLocation(), "'" + qualified_name(f) + "' is annotated zsync::stackless but not "
                                    "defined in this file; zsync-gen generates frames only for definitions it sees",
                                    "define it in this file");
                    continue;
                }
                roots.push_back(f);
            }
        for (const clang::FunctionDecl* f : methods) {
            if (!sus.annotated(f)) continue;
            if (llvm::isa<clang::CXXMethodDecl>(f) && f->getFriendObjectKind() == clang::Decl::FOK_None) {
                if (std::string why = member_frame_refusal(sm, f); !why.empty()) {
                    if (f->isFirstDecl())
                        diags.error(f->getLocation(), "member function '" + qualified_name(f) + "' cannot have a frame: " + why,
                                    "make it a free function taking the object by reference");
                } else if (f->doesThisDeclarationHaveABody()) {
                    roots.push_back(f);
                }
                continue;
            }
            diags.error(f->getLocation(), "'" + qualified_name(f) + "' is a friend or local function annotated "
                        "zsync::stackless; frames exist for free functions at namespace scope and for members",
                        "make it a free function at namespace scope taking the object by reference");
        }
        for (const clang::FunctionDecl* f : roots) {
            if (const auto* cb = f->getBody(); cb && llvm::isa<clang::CoroutineBodyStmt>(cb)) {
                diags.error(f->getLocation(), "'" + qualified_name(f) + "' is a C++20 coroutine and annotated zsync::stackless",
                            "remove co_await/co_return/co_yield: write a plain function and let zsync-gen make its frame");
                continue;
            }
            build_frame(cx, sus, f);
        }
        if (diags.has_errors()) {
            result.diagnostics = diags.render();
            return;
        }
        // Callees first, each once.
        std::vector<FunctionModel*> order;
        std::set<FunctionModel*> seen;
        std::function<void(FunctionModel*)> visit = [&](FunctionModel* m) {
            if (!seen.insert(m).second) return;
            for (FunctionModel* c : m->callees) visit(c);
            order.push_back(m);
        };
        for (const clang::FunctionDecl* f : roots)
            if (auto it = cx.models.find(f); it != cx.models.end() && !it->second->failed) visit(it->second.get());
        std::map<std::string, int> used_names;
        for (FunctionModel* m : order) {
            const std::string base = m->decl->getNameAsString();
            m->frame_name = names::frame(base, used_names[base]++);
            std::string q;
            for (const clang::DeclContext* c = m->decl->getDeclContext(); c && !c->isTranslationUnit(); c = c->getParent()) {
                if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(c); ns && !ns->isAnonymousNamespace())
                    q = ns->getNameAsString() + "::" + q;
                if (const auto* rd = llvm::dyn_cast<clang::CXXRecordDecl>(c)) q = rd->getNameAsString() + "::" + q;
            }
            m->frame_qualified = "::" + q + m->frame_name;
        }
        for (FunctionModel* m : order) lay_out(cx, *m);
        // Where each frame goes: after its function, and after the frames it embeds (same scope). A
        // frame of a function defined in another file (a module interface) goes with its first caller.
        const clang::FileID main = sm.getMainFileID();
        std::map<FunctionModel*, unsigned> line_of;
        std::map<FunctionModel*, FunctionModel*> host_of;  // out-of-file frame -> the frame it is printed with
        auto in_main = [&](FunctionModel* m) { return sm.isInMainFile(sm.getFileLoc(m->decl->getLocation())); };
        // A member's frame is nested in its class, before the closing brace.
        auto class_of = [](FunctionModel* m) { return static_cast<const clang::CXXRecordDecl*>(m->member_of); };
        auto class_begin = [&](FunctionModel* m) { return sm.getExpansionLineNumber(class_of(m)->getBeginLoc()); };
        auto class_end = [&](FunctionModel* m) { return sm.getExpansionLineNumber(class_of(m)->getBraceRange().getEnd()); };
        for (FunctionModel* m : order) {
            if (!in_main(m)) continue;
            if (m->member_of) {
                for (FunctionModel* c : m->callees) {
                    if (!in_main(c) || class_of(c) == class_of(m)) continue;
                    if ((c->member_of ? class_end(c) : line_of[c]) >= class_begin(m))
                        diags.error(m->decl->getLocation(), "'" + c->name + "' (called by the member '" + m->name +
                                    "') is defined after the class; its frame must precede the class's",
                                    "define '" + c->name + "' before the class");
                }
                line_of[m] = class_end(m);
                continue;
            }
            unsigned line = sm.getExpansionLineNumber(m->decl->getEndLoc());
            for (FunctionModel* c : m->callees) {
                if (!in_main(c)) continue;
                if (c->decl->getDeclContext()->getRedeclContext() != m->decl->getDeclContext()->getRedeclContext() &&
                    line_of[c] > line)
                    diags.error(m->decl->getLocation(), "'" + c->name + "' is defined after '" + m->name +
                                "' in another namespace; its frame must precede the caller's",
                                "define '" + c->name + "' before '" + m->name + "'");
                line = std::max(line, line_of[c]);
            }
            line_of[m] = line;
        }
        std::function<void(FunctionModel*, FunctionModel*)> host = [&](FunctionModel* c, FunctionModel* caller) {
            if (in_main(c) || host_of.count(c)) return;
            host_of[c] = caller;
            for (FunctionModel* cc : c->callees) host(cc, caller);
        };
        for (FunctionModel* m : order)
            if (in_main(m))
                for (FunctionModel* c : m->callees) host(c, m);
        for (FunctionModel* m : order) prepare_edits(cx, *m);
        std::map<unsigned, std::string> inserts;
        std::map<const clang::CXXRecordDecl*, std::string> class_inserts;  // member frames, per class
        std::map<FunctionModel*, std::string> hosted;  // out-of-file frames, printed before their host
        std::string report;
        auto namespaces_of = [](const clang::FunctionDecl* f, bool& only_namespaces) {
            std::vector<const clang::NamespaceDecl*> chain;
            only_namespaces = true;
            for (const clang::DeclContext* c = f->getDeclContext(); c && !c->isTranslationUnit(); c = c->getParent()) {
                if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(c)) chain.push_back(ns);
                else only_namespaces = false;
            }
            std::reverse(chain.begin(), chain.end());
            return chain;
        };
        auto open_text = [](const std::vector<const clang::NamespaceDecl*>& chain) {
            std::string t;
            for (const clang::NamespaceDecl* ns : chain)
                t += std::string(ns->isInline() ? "inline " : "") + "namespace " +
                     (ns->isAnonymousNamespace() ? std::string() : ns->getNameAsString() + " ") + "{ ";
            return t;
        };
        for (FunctionModel* m : order) {
            PrintedFrame pf = print_frame(cx, *m);
            if (!in_main(m)) {
                // Printed in the caller's file, inside the callee's own namespaces plus an anonymous one
                // (internal linkage: every translation unit that embeds it has its own copy).
                bool only = true;
                auto chain = namespaces_of(m->decl, only);
                hosted[host_of[m]] += open_text(chain) + "namespace {\n" + pf.in_namespace + "}\n";
                for (size_t i = 0; i < chain.size(); ++i) hosted[host_of[m]] += "} ";
                hosted[host_of[m]] += "\n";
                ++result.frames;
                report += "frame " + m->name + " (" + m->frame_name + ", from another file): embedded frame " +
                          std::to_string(m->size) + " bytes, align " + std::to_string(m->align) + "\n";
                for (const LayoutLine& l : m->layout) report += "  " + std::to_string(l.size) + "\t" + l.what + "\n";
                continue;
            }
            if (m->member_of) {
                if (hosted.count(m))
                    diags.error(m->decl->getLocation(), "member '" + m->name + "' embeds a library frame; call it from a "
                                "free function, or call the library function from one", "");
                class_inserts[class_of(m)] += pf.in_namespace;
                ++result.frames;
                report += "frame " + m->name + " (" + m->frame_name + ", nested in its class): embedded frame " +
                          std::to_string(m->size) + " bytes, align " + std::to_string(m->align) + "\n";
                for (const LayoutLine& l : m->layout) report += "  " + std::to_string(l.size) + "\t" + l.what + "\n";
                continue;
            }
            std::string text;
            if (hosted.count(m)) {
                bool only = true;
                auto chain = namespaces_of(m->decl, only);
                for (size_t i = 0; i < chain.size(); ++i) text += "} ";
                text += "\n" + hosted[m] + open_text(chain) + "\n";
            }
            text += pf.in_namespace;
            if (!pf.at_global_scope.empty()) {
                bool only_namespaces = true;
                auto chain = namespaces_of(m->decl, only_namespaces);
                if (!only_namespaces) {
                    diags.error(m->decl->getLocation(), "an annotated function inside a linkage specification or export block",
                                "define it directly at namespace scope");
                    continue;
                }
                for (size_t i = 0; i < chain.size(); ++i) text += "} ";
                text += "\n" + pf.at_global_scope + open_text(chain) + "\n";
            }
            inserts[line_of[m]] += text;
            ++result.frames;
            report += "frame " + m->name + " (" + m->frame_name + "): " + (m->annotated ? "frame_size " : "embedded frame ") +
                      std::to_string(pf.frame_size) + " bytes, align " + std::to_string(m->align) + "; frame struct " +
                      std::to_string(m->size) + " bytes\n";
            for (const LayoutLine& l : m->layout) report += "  " + std::to_string(l.size) + "\t" + l.what + "\n";
        }
        if (diags.has_errors()) {
            result.diagnostics = diags.render();
            return;
        }
        const std::string file = sm.getFileEntryRefForID(main)->getName().str();
        clang::Rewriter out(sm, ast.getLangOpts());
        const unsigned last_line = sm.getLineNumber(main, sm.getFileIDSize(main));
        for (auto& [rd, text] : class_inserts) {
            const clang::SourceLocation brace = sm.getFileLoc(rd->getBraceRange().getEnd());
            const unsigned line = sm.getExpansionLineNumber(brace);
            out.InsertTextBefore(brace, "\npublic:\n" + text + "#line " + std::to_string(line) + " \"" + file + "\"\n");
        }
        for (auto& [line, text] : inserts) {
            const std::string tail = "#line " + std::to_string(line + 1) + " \"" + file + "\"\n";
            if (line >= last_line) {
                out.InsertTextAfter(sm.getLocForEndOfFile(main), "\n" + text + tail);
            } else {
                clang::SourceLocation at = sm.translateLineCol(main, line + 1, 1);
                out.InsertTextBefore(at, text + tail);
            }
        }
        const clang::RewriteBuffer* buf = out.getRewriteBufferFor(main);
        std::string body = buf ? std::string(buf->begin(), buf->end()) : sm.getBufferData(main).str();
        result.output = "#line 1 \"" + file + "\"\n" + body;
        result.report = report;
        result.ok = true;
    }
};

struct Action : clang::ASTFrontendAction {
    GenerateResult& result;
    const Options& options;
    Action(GenerateResult& r, const Options& o) : result(r), options(o) {}
    std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance&, llvm::StringRef) override {
        return std::make_unique<Consumer>(result, options);
    }
};

}  // namespace

GenerateResult generate(const std::vector<std::string>& command, const std::string& source, const Options& options) {
    (void)source;
    GenerateResult result;
    std::vector<std::string> args;
    for (size_t i = 0; i < command.size(); ++i) {
        const std::string& a = command[i];
        if (a == "-MF" || a == "-MT" || a == "-MQ" || a == "-o") { ++i; continue; }
        if (a == "-MD" || a == "-MMD") continue;
        args.push_back(a);
        if (i == 0) args.push_back("-resource-dir=" ZSYNC_GEN_RESOURCE_DIR);
    }
    args.push_back("-fsyntax-only");
    args.push_back("-Wno-everything");
    llvm::IntrusiveRefCntPtr<clang::FileManager> files(new clang::FileManager(clang::FileSystemOptions()));
    clang::tooling::ToolInvocation inv(args, std::make_unique<Action>(result, options), files.get());
    inv.run();
    if (!result.parsed) result.ok = false;
    return result;
}

}  // namespace zsync_gen
