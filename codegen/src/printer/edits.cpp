// Expression-level edits on the scratch Rewriter (see printer.hpp), and the cleanup texts they use.
#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMap.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/StmtCXX.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include "names.hpp"
#include "passes/frame_builder.hpp"
#include "printer/printer.hpp"

namespace zsync_gen {

std::string access(const FunctionModel& m, const FrameVar& v) {
    (void)m;
    const std::string fr = std::string(names::self) + "->";
    switch (v.kind) {
    case FrameVar::Kind::slot: return fr + v.path + ".get()";
    case FrameVar::Kind::plain: return fr + v.path;
    case FrameVar::Kind::pointer: return "(*" + fr + v.path + ")";
    case FrameVar::Kind::result: return std::string("(*") + fr + names::dest + ")";
    case FrameVar::Kind::dead: return "/* unused parameter */";
    }
    return {};
}

std::string mark_alive(int bit, const std::string& base) {
    if (bit < 0) return {};
    return base + "->zs_alive[" + std::to_string(bit / 64) + "] |= (1ull << " + std::to_string(bit % 64) + "); ";
}
std::string mark_dead(int bit, const std::string& base) {
    if (bit < 0) return {};
    return base + "->zs_alive[" + std::to_string(bit / 64) + "] &= ~(1ull << " + std::to_string(bit % 64) + "); ";
}
std::string if_alive(int bit, const std::string& then) {
    if (bit < 0 || then.empty()) return then;
    return "if (fr->zs_alive[" + std::to_string(bit / 64) + "] & (1ull << " + std::to_string(bit % 64) + ")) { " + then + "} ";
}

std::string clear_alive(const FunctionModel& m, const std::string& base) {
    std::string out;
    for (int w = 0; w < (m.alive_count + 63) / 64; ++w) out += base + "->zs_alive[" + std::to_string(w) + "] = 0; ";
    return out;
}

std::string try_label(const FunctionModel& m, const clang::Stmt* t) {
    for (size_t i = 0; i < m.tries.size(); ++i)
        if (m.tries[i] == t) return "zs_try_" + std::to_string(i);
    return "zs_try_unknown";
}

std::string dispatch_target(const FunctionModel& m, const SuspendPoint& p, const clang::Stmt* inside) {
    std::vector<const clang::Stmt*> chain;  // the try statements around p, outermost first
    for (const clang::Stmt* s = p.call; s; s = m.parents->getParent(s))
        if (llvm::isa<clang::CXXTryStmt>(s)) chain.insert(chain.begin(), s);
    size_t next = 0;
    if (inside)
        for (size_t i = 0; i < chain.size(); ++i)
            if (chain[i] == inside) next = i + 1;
    return next < chain.size() ? try_label(m, chain[next]) : names::resume_label(p.state);
}

std::string destroy_text(const FunctionModel& m, const FrameVar& v) {
    (void)m;
    if (v.kind == FrameVar::Kind::result)
        return std::string("::zsync::gen::destroy(") + names::self + "->" + names::dest + "); " + mark_dead(v.alive_bit);
    if (v.kind == FrameVar::Kind::slot && v.needs_destroy)
        return std::string(names::self) + "->" + v.path + ".destroy(); " + mark_dead(v.alive_bit);
    return {};
}

namespace {

bool descends_from(const FunctionModel& m, const clang::Stmt* x, const clang::Stmt* ancestor) {
    for (const clang::Stmt* p = m.parents->getParent(x); p; p = m.parents->getParent(p))
        if (p == ancestor) return true;
    return false;
}

// Whether scope `s` is left when control jumps out of `target` (break/continue), i.e. lies inside it.
bool inside(const FunctionModel& m, const Scope* s, const clang::Stmt* target) {
    if (!target) return true;
    if (s->stmt == target) return s->kind == Scope::Kind::range_iteration;
    return descends_from(m, s->stmt, target);
}

}  // namespace

std::string cleanup_text(Context& cx, const FunctionModel& m, const clang::Stmt* at, const clang::Stmt* target,
                         const clang::VarDecl* skip) {
    std::string out;
    const unsigned pos = cx.offset(at->getBeginLoc());
    for (Scope* s = scope_containing(m, at); s && s->kind != Scope::Kind::function; s = s->parent) {
        if (!inside(m, s, target)) break;
        for (auto it = s->vars.rbegin(); it != s->vars.rend(); ++it) {
            const FrameVar& v = **it;
            if (v.decl == skip) continue;
            if (cx.offset(v.decl->getEndLoc()) >= pos && !v.decl->isImplicit() && !v.decl->isCXXForRangeDecl()) continue;
            out += destroy_text(m, v);
        }
    }
    return out;
}

// The parameters outlive the function's own locals, as in C++ where the caller destroys them at the end
// of its full-expression: zs_destroy does (the caller calls it right after the last resume).
std::string finish_tail(const FunctionModel& m) {
    (void)m;
    return std::string(names::self) + "->" + names::state + " = -1; return nullptr;";
}

namespace {

clang::SourceLocation semicolon_after(Context& cx, const clang::Stmt* s) {
    clang::SourceLocation after = clang::Lexer::findLocationAfterToken(s->getEndLoc(), clang::tok::semi, cx.sm, cx.lang, false);
    return after.isValid() ? after.getLocWithOffset(-1) : after;
}

const clang::Stmt* jump_target(const FunctionModel& m, const clang::Stmt* j, bool is_break) {
    for (const clang::Stmt* p = m.parents->getParent(j); p; p = m.parents->getParent(p)) {
        if (llvm::isa<clang::ForStmt, clang::WhileStmt, clang::DoStmt, clang::CXXForRangeStmt>(p)) return p;
        if (is_break && llvm::isa<clang::SwitchStmt>(p)) return p;
    }
    return nullptr;
}

// The variable a return statement moves from (C++23 implicit move), if any.
const clang::DeclRefExpr* implicitly_moved(const clang::ReturnStmt* r) {
    const clang::Expr* e = r->getRetValue();
    if (!e) return nullptr;
    e = e->IgnoreImplicit();
    if (const auto* c = llvm::dyn_cast<clang::CXXConstructExpr>(e); c && c->getNumArgs() == 1) e = c->getArg(0)->IgnoreImplicit();
    const auto* d = llvm::dyn_cast<clang::DeclRefExpr>(e->IgnoreParens());
    if (!d) return nullptr;
    const auto* v = llvm::dyn_cast<clang::VarDecl>(d->getDecl());
    if (!v || !v->hasLocalStorage() || v->getType()->isReferenceType() || v->getType().isVolatileQualified()) return nullptr;
    if (v->getType()->isScalarType()) return nullptr;  // moving a scalar is copying it
    return d;
}

struct Editor : clang::RecursiveASTVisitor<Editor> {
    Context& cx;
    FunctionModel& m;
    std::set<const clang::DeclRefExpr*> moved;
    Editor(Context& c, FunctionModel& mm) : cx(c), m(mm) {}

    void replace(clang::SourceRange r, const std::string& text) {
        cx.scratch.ReplaceText(clang::CharSourceRange::getTokenRange(r), text);
        record(r.getBegin(), clang::Lexer::getLocForEndOfToken(r.getEnd(), 0, cx.sm, cx.lang), text);
    }
    void record(clang::SourceLocation b, clang::SourceLocation e, const std::string& text) {
        cx.token_edits[cx.sm.getCharacterData(cx.sm.getFileLoc(b))] = {cx.sm.getCharacterData(cx.sm.getFileLoc(e)), text};
    }

    bool VisitDeclRefExpr(clang::DeclRefExpr* d) {
        const auto* v = llvm::dyn_cast<clang::VarDecl>(d->getDecl());
        if (!v) return true;
        auto it = m.var_of.find(v);
        std::string text;
        if (it != m.var_of.end()) text = access(m, *it->second);
        else if (moved.count(d)) text = v->getName().str();
        else return true;
        if (moved.count(d)) text = "static_cast<" + cx.type_name(v->getType()) + "&&>(" + text + ")";
        replace(d->getSourceRange(), text);
        return true;
    }

    // In a member's frame the object is fr->zs_self: `this` says so, and an implicit `this->` is spelt.
    bool VisitCXXThisExpr(clang::CXXThisExpr* t) {
        if (!m.has_self) return true;
        const std::string self = std::string(names::self) + "->zs_self";
        if (!t->isImplicit()) {
            replace(t->getSourceRange(), self);
            return true;
        }
        const clang::Stmt* up = m.parents->getParent(t);
        while (up && llvm::isa<clang::ImplicitCastExpr>(up)) up = m.parents->getParent(up);
        if (const auto* me = llvm::dyn_cast_or_null<clang::MemberExpr>(up)) {
            clang::SourceLocation first = me->getBeginLoc();
            const unsigned len = clang::Lexer::MeasureTokenLength(first, cx.sm, cx.lang);
            const std::string tok(cx.sm.getCharacterData(first), len);
            replace(clang::SourceRange(first, first), self + "->" + tok);
        }
        return true;
    }

    bool TraverseLambdaExpr(clang::LambdaExpr* l) {
        // Explicit captures of frame-held locals become init-captures; the body keeps its names.
        for (const clang::LambdaCapture& c : l->explicit_captures()) {
            if (!c.capturesVariable()) continue;
            const auto* v = llvm::dyn_cast<clang::VarDecl>(c.getCapturedVar());
            auto it = v ? m.var_of.find(v) : m.var_of.end();
            if (it == m.var_of.end() || l->isInitCapture(&c)) continue;
            const std::string name = v->getName().str();
            const std::string text = c.getCaptureKind() == clang::LCK_ByRef ? "&" + name + " = " + access(m, *it->second)
                                                                           : name + " = " + access(m, *it->second);
            clang::SourceLocation loc = c.getLocation();
            clang::SourceLocation begin = c.getCaptureKind() == clang::LCK_ByRef ? loc.getLocWithOffset(-1) : loc;
            if (c.getCaptureKind() == clang::LCK_ByRef) {
                // `&x`: the ampersand may be separated by spaces; replace from it to the name.
                const char* data = cx.sm.getCharacterData(loc);
                int back = 1;
                while (data[-back] != '&') ++back;
                begin = loc.getLocWithOffset(-back);
            }
            cx.scratch.ReplaceText(clang::CharSourceRange::getTokenRange(begin, loc), text);
            record(begin, clang::Lexer::getLocForEndOfToken(loc, 0, cx.sm, cx.lang), text);
        }
        // The inits of the captures rewritten above are their own names: leave them alone.
        auto init = l->capture_init_begin();
        for (auto c = l->capture_begin(); c != l->capture_end(); ++c, ++init) {
            if (!*init) continue;
            const auto* v = c->capturesVariable() ? llvm::dyn_cast<clang::VarDecl>(c->getCapturedVar()) : nullptr;
            if (v && m.var_of.count(v) && c->isExplicit() && !l->isInitCapture(&*c)) continue;
            TraverseStmt(*init);
        }
        return true;
    }

    bool VisitReturnStmt(clang::ReturnStmt* r) {
        for (auto& p : m.points)
            if (p->statement == r) return true;  // printed by the statement printer
        clang::SourceLocation semi = semicolon_after(cx, r);
        if (semi.isInvalid()) return true;
        const clang::Expr* value = r->getRetValue();
        const bool returns_nrvo = m.nrvo && value && [&] {
            const clang::Expr* e = value->IgnoreImplicit();
            if (const auto* c = llvm::dyn_cast<clang::CXXConstructExpr>(e); c && c->getNumArgs() == 1) e = c->getArg(0)->IgnoreImplicit();
            const auto* d = llvm::dyn_cast<clang::DeclRefExpr>(e->IgnoreParens());
            return d && d->getDecl() == m.nrvo;
        }();
        const std::string cleanup = cleanup_text(cx, m, r, nullptr, returns_nrvo ? m.nrvo : nullptr);
        std::string head, tail;
        if (m.returns_void) {
            head = "{ ";
            tail = std::string(value ? ";" : "") + " " + cleanup + finish_tail(m) + " }";
        } else if (returns_nrvo) {
            head = "{ (void)";
            tail = "; " + cleanup + finish_tail(m) + " }";
        } else {
            if (const clang::DeclRefExpr* d = implicitly_moved(r)) moved.insert(d);
            head = std::string("{ ::zsync::gen::emplace(") + names::self + "->" + names::dest + ", [&]() -> " + m.result_type +
                   " { return ";
            tail = "; }); " + cleanup + finish_tail(m) + " }";
        }
        cx.scratch.ReplaceText(r->getReturnLoc(), 6, head);
        cx.scratch.ReplaceText(semi, 1, tail);
        return true;
    }

    bool jump(clang::Stmt* j, bool is_break) {
        const clang::Stmt* target = jump_target(m, j, is_break);
        const std::string cleanup = cleanup_text(cx, m, j, target);
        // A do-while whose condition suspends is printed as a loop that evaluates it at a label.
        if (!is_break && target && llvm::isa<clang::DoStmt>(target)) {
            if (auto it = m.lifted_of.find(target); it != m.lifted_of.end()) {
                clang::SourceLocation semi = semicolon_after(cx, j);
                if (semi.isInvalid()) return true;
                cx.scratch.ReplaceText(j->getBeginLoc(), 8, "{ " + cleanup + "goto " + names::continue_label(it->second->member));
                cx.scratch.ReplaceText(semi, 1, "; }");
                return true;
            }
        }
        if (cleanup.empty()) return true;
        clang::SourceLocation semi = semicolon_after(cx, j);
        if (semi.isInvalid()) return true;
        cx.scratch.ReplaceText(j->getBeginLoc(), is_break ? 5 : 8, "{ " + cleanup + (is_break ? "break" : "continue"));
        cx.scratch.ReplaceText(semi, 1, "; }");
        return true;
    }
    bool VisitBreakStmt(clang::BreakStmt* b) { return jump(b, true); }
    bool VisitContinueStmt(clang::ContinueStmt* c) { return jump(c, false); }
};

}  // namespace

void prepare_edits(Context& cx, FunctionModel& m) {
    Editor e(cx, m);
    // Returns first: they decide which names are implicitly moved.
    struct Returns : clang::RecursiveASTVisitor<Returns> {
        Editor& e;
        explicit Returns(Editor& ed) : e(ed) {}
        bool VisitReturnStmt(clang::ReturnStmt* r) { return e.VisitReturnStmt(r); }
        bool VisitBreakStmt(clang::BreakStmt* b) { return e.VisitBreakStmt(b); }
        bool VisitContinueStmt(clang::ContinueStmt* c) { return e.VisitContinueStmt(c); }
        bool TraverseLambdaExpr(clang::LambdaExpr*) { return true; }
    } returns(e);
    returns.TraverseStmt(const_cast<clang::Stmt*>(m.decl->getBody()));
    struct Refs : clang::RecursiveASTVisitor<Refs> {
        Editor& e;
        explicit Refs(Editor& ed) : e(ed) {}
        bool VisitDeclRefExpr(clang::DeclRefExpr* d) { return e.VisitDeclRefExpr(d); }
        bool VisitCXXThisExpr(clang::CXXThisExpr* t) { return e.VisitCXXThisExpr(t); }
        bool TraverseLambdaExpr(clang::LambdaExpr* l) { return e.TraverseLambdaExpr(l); }
    } refs(e);
    refs.TraverseStmt(const_cast<clang::Stmt*>(m.decl->getBody()));
}

}  // namespace zsync_gen

namespace zsync_gen {

std::string lifted_cleanup(const LiftedStatement& l, const LiftTemp* before) {
    size_t n = l.temps.size();
    for (size_t i = 0; i < l.temps.size(); ++i)
        if (l.temps[i].get() == before) n = i;
    std::string out;
    for (size_t i = n; i-- > 0;) {
        const LiftTemp& t = *l.temps[i];
        if (!t.needs_destroy || t.kind != LiftTemp::Kind::value) continue;
        const std::string d = std::string(names::self) + "->" + t.path + ".destroy(); " + mark_dead(t.alive_bit);
        out += t.flag_path.empty() ? d : "if (" + std::string(names::self) + "->" + t.flag_path + ") " + d;
    }
    return out;
}

}  // namespace zsync_gen
