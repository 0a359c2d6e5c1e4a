// The statement printer: prints a suspending function's body as the body of its frame's resume().
// Statements without a suspension point or a frame-held declaration are copied (with the scratch
// edits); the others are printed here, one construct at a time.
#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMap.h>
#include <clang/AST/StmtCXX.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <clang/Rewrite/Core/Rewriter.h>
#include "names.hpp"
#include "passes/frame_builder.hpp"
#include "printer/printer.hpp"

namespace zsync_gen {

namespace {

using namespace clang;

class BodyPrinter {
public:
    BodyPrinter(Context& cx, FunctionModel& m) : cx_(cx), m_(m) {}

    std::string fr() const { return names::self; }
    std::string frm(const std::string& member) const { return fr() + "->" + member; }

    // Rewritten text of an expression (with the values of a lifted statement's temporaries in place).
    std::string expr(const Expr* e) { return repl_.empty() ? cx_.rewritten(e) : render(e); }

    // The source of `e` with the token edits and the lifted temporaries substituted (outermost wins).
    std::string render(const Expr* e) {
        if (auto it = repl_.find(e); it != repl_.end()) return it->second;
        return render(e->getBeginLoc(), e->getEndLoc());
    }
    // The same for the tokens from `first` to `last` (a declaration's initialiser with its parentheses).
    std::string render(SourceLocation first, SourceLocation last) {
        const char* b = cx_.sm.getCharacterData(cx_.sm.getFileLoc(first));
        const char* end = cx_.sm.getCharacterData(
            Lexer::getLocForEndOfToken(cx_.sm.getFileLoc(last), 0, cx_.sm, cx_.lang));
        std::map<const char*, std::pair<const char*, std::string>> cuts;
        for (auto& [node, text] : repl_) {
            const char* nb = cx_.sm.getCharacterData(cx_.sm.getFileLoc(node->getBeginLoc()));
            const char* ne = cx_.sm.getCharacterData(
                Lexer::getLocForEndOfToken(cx_.sm.getFileLoc(node->getEndLoc()), 0, cx_.sm, cx_.lang));
            if (nb >= b && ne <= end) cuts[nb] = {ne, text};
        }
        for (auto it = cx_.token_edits.lower_bound(b); it != cx_.token_edits.end() && it->first < end; ++it)
            if (it->second.first <= end) cuts.emplace(it->first, it->second);  // a lifted node at the same place wins
        std::string out;
        const char* at = b;
        for (auto& [cb, ce_text] : cuts) {
            if (cb < at) continue;  // inside a cut already taken (an edit inside a lifted node)
            out.append(at, cb);
            out += ce_text.second;
            at = ce_text.first;
        }
        if (at < end) out.append(at, end);
        return out;
    }
    std::string range(SourceLocation b, SourceLocation e_exclusive) {
        return cx_.scratch.getRewrittenText(CharSourceRange::getCharRange(b, e_exclusive));
    }

    // A statement's text including the semicolon that ends it.
    std::string plain(const Stmt* s) {
        SourceLocation end = s->getEndLoc();
        SourceLocation after = Lexer::findLocationAfterToken(end, tok::semi, cx_.sm, cx_.lang, false);
        if (after.isValid()) return cx_.scratch.getRewrittenText(CharSourceRange::getCharRange(s->getBeginLoc(), after));
        return cx_.rewritten(s->getSourceRange());
    }

    SuspendPoint* point_of(const Stmt* s) {
        for (auto& p : m_.points)
            if (p->statement == s && !p->lifted) return p.get();
        return nullptr;
    }

    std::string arg_text(const CallExpr* call, unsigned i) {
        const Expr* a = call->getArg(i);
        if (const auto* d = dyn_cast<CXXDefaultArgExpr>(a)) {
            const ParmVarDecl* p = d->getParam();
            SourceRange r = p->getDefaultArgRange();
            const std::string text = Lexer::getSourceText(CharSourceRange::getTokenRange(r), cx_.sm, cx_.lang).str();
            // `= {}` (or `= {...}`): braces alone are not an expression; name the parameter's type.
            if (!text.empty() && text[0] == '{')
                return "(" + cx_.type_name(p->getType().getNonReferenceType().getUnqualifiedType()) + text + ")";
            return "(" + text + ")";
        }
        return "(" + expr(a) + ")";
    }

    // Arguments of a member call exclude the object; of an operator call, too.
    std::string self_text(const CallExpr* call) {
        if (const auto* mc = dyn_cast<CXXMemberCallExpr>(call)) {
            const Expr* obj = mc->getImplicitObjectArgument();
            std::string t = expr(obj);
            if (mc->getMethodDecl() && obj->getType()->isPointerType()) return "(*" + t + ")";
            return t;
        }
        return {};
    }

    // A leaf's template with $self (the object), $op (the finished Operation) and $0, $1, ... (the
    // arguments, a defaulted one as its default) replaced.
    std::string expand(const std::string& t, const CallExpr* call, const std::string& op_text) {
        std::string built;
        for (size_t i = 0; i < t.size(); ++i) {
            if (t[i] == '$') {
                if (t.compare(i, 5, "$self") == 0) {
                    built += self_text(call);
                    i += 4;
                    continue;
                }
                if (t.compare(i, 3, "$op") == 0) {
                    built += op_text;
                    i += 2;
                    continue;
                }
                size_t j = i + 1;
                unsigned n = 0;
                while (j < t.size() && isdigit(static_cast<unsigned char>(t[j]))) n = n * 10 + (t[j++] - '0');
                built += arg_text(call, n);
                i = j - 1;
                continue;
            }
            built += t[i];
        }
        return built;
    }
    // What the leaf's wrapper returns, from its finished Operation: a zsync::gen function of the
    // Operation, or (a template with '$') an expression of it, the object and the arguments.
    std::string convert_text(const SuspendPoint& p, const std::string& op_text) {
        const std::string c = p.leaf->convert;
        if (c.find('$') == std::string::npos) return "::zsync::gen::" + c + "(" + op_text + ")";
        return expand(c, p.call, op_text);
    }

    // Prints the suspension; returns the expression for its value (leaf), or "" (embedded: the value
    // is at `dest`).
    std::string suspend(SuspendPoint& p, const std::string& dest, std::string& out) {
        const std::string k = std::to_string(p.state);
        const std::string set_state = frm(names::state) + " = " + k + "; ";
        const std::string label = names::resume_label(p.state) + ":; " + (m_.tries.empty() ? "" : "zs_resuming = false; ");
        if (p.kind == SuspendKind::leaf) {
            std::string op = p.leaf->operation;
            if (op == "@inplace") {
                const std::string a0 = arg_text(p.call, 0);
                out += set_state + "return &" + a0 + "; " + label;
                return convert_text(p, a0);
            }
            // "@maybe": the library may build an Operation with code nop (nothing to wait for, its result
            // already set): the frame does not suspend then, and the conversion reads it at once.
            const bool maybe = op.rfind("@maybe ", 0) == 0;
            if (maybe) op = op.substr(7);
            const std::string built = expand(op, p.call, "");
            out += frm(names::operation) + " = " + built + "; ";
            if (maybe) out += "if (" + frm(names::operation) + ".code != ::zsync::Op::nop) { ";
            out += set_state + "return &" + frm(names::operation) + "; ";
            if (maybe) out += "} ";
            out += label;
            return convert_text(p, frm(names::operation));
        }
        FunctionModel& c = *p.callee;
        const std::string storage = "&" + frm(p.storage_path) + ".frame";
        out += "{ auto* zs_c = ::zsync::gen::begin_frame<" + c.frame_qualified + ">(" + storage + "); zs_c->" +
               names::state + " = 0; " + clear_alive(c, "zs_c");
        if (!c.returns_void) out += std::string("zs_c->") + names::dest + " = " + dest + "; ";
        if (c.has_self) {
            // The object the member is called on: its address (the object outlives the call, as in C++).
            const auto* mc = dyn_cast<CXXMemberCallExpr>(p.call);
            const Expr* obj = mc ? mc->getImplicitObjectArgument() : nullptr;
            std::string self;
            if (!obj || (isa<CXXThisExpr>(obj->IgnoreImpCasts()) && cast<CXXThisExpr>(obj->IgnoreImpCasts())->isImplicit()))
                self = frm("zs_self");
            else if (obj->getType()->isPointerType())
                self = "(" + expr(obj) + ")";
            else
                self = "&(" + expr(obj) + ")";
            out += "zs_c->zs_self = " + self + "; ";
        }
        const auto* fd = p.call->getDirectCallee();
        for (unsigned i = 0; i < c.params.size(); ++i) {
            const FrameVar& pv = *c.params[i];
            const std::string a = i < p.call->getNumArgs() ? arg_text(p.call, i) : std::string("/*missing*/");
            if (pv.kind == FrameVar::Kind::dead) {
                // The callee never reads it: evaluate the argument only if that can have an effect.
                const Expr* arg = p.call->getArg(i)->IgnoreImplicit();
                if (const auto* ce = dyn_cast<CXXConstructExpr>(arg); ce && ce->getNumArgs() == 1) arg = ce->getArg(0)->IgnoreImplicit();
                if (!isa<DeclRefExpr>(arg->IgnoreParens())) out += "(void)" + a + "; ";
                continue;
            }
            if (pv.kind == FrameVar::Kind::pointer) {
                const Expr* arg = p.call->getArg(i)->IgnoreImplicit();
                if (isa<MaterializeTemporaryExpr>(p.call->getArg(i)->IgnoreImpCasts()) || arg->isPRValue())
                    cx_.diags.error(p.call->getArg(i)->getBeginLoc(), "a temporary bound to reference parameter '" +
                                    fd->getParamDecl(i)->getName().str() + "' of a suspending call would have to live across "
                                    "the suspension (zsync-gen does not keep such temporaries in a frame)",
                                    "pass a named local");
                out += "zs_c->" + pv.path + " = &" + a + "; ";
            } else {
                out += "::zsync::gen::emplace(zs_c->" + pv.path + ".ptr(), [&]() -> " + pv.type + " { return " + a + "; }); " +
                       mark_alive(pv.alive_bit, "zs_c");
            }
        }
        out += "} " + set_state + names::resume_label(p.state) + ":; " + (m_.tries.empty() ? "" : "zs_resuming = false; ") +
               "if (::zsync::Operation* zs_o = " + c.frame_qualified +
               "::zs_resume(" + storage + ")) return zs_o; " + c.frame_qualified + "::zs_destroy(" + storage + "); ";
        return {};
    }

    std::string value_slot(SuspendPoint& p) { return frm(p.storage_path) + ".value"; }

    bool same_type(QualType a, QualType b) {
        return cx_.ast.hasSameUnqualifiedType(a.getNonReferenceType(), b.getNonReferenceType());
    }

    // `call(...);`, `lhs = call(...);`, `(void)call(...);`
    std::string expression_statement(const Expr* e, SuspendPoint& p) {
        std::string out;
        const Expr* top = e->IgnoreImplicit();
        const Expr* lhs = nullptr;
        std::string op;
        if (const auto* b = dyn_cast<BinaryOperator>(top); b && b->isAssignmentOp()) {
            lhs = b->getLHS();
            op = b->getOpcodeStr().str();
        } else if (const auto* o = dyn_cast<CXXOperatorCallExpr>(top); o && o->isAssignmentOp()) {
            lhs = o->getArg(0);
            op = getOperatorSpelling(o->getOperator());
        }
        if (p.kind == SuspendKind::leaf) {
            std::string v = suspend(p, "", out);
            out += lhs ? expr(lhs) + " " + op + " " + v + "; " : "(void)" + v + "; ";
            return out;
        }
        FunctionModel& c = *p.callee;
        if (c.returns_void) {
            suspend(p, "", out);
            return out;
        }
        suspend(p, value_slot(p) + ".ptr()", out);
        if (lhs) out += expr(lhs) + " " + op + " static_cast<" + c.result_type + "&&>(" + value_slot(p) + ".get()); ";
        out += value_slot(p) + ".destroy(); ";
        return out;
    }

    std::string declaration(const DeclStmt* d) {
        if (!d->isSingleDecl()) {
            // int a = 0, b = 1: each variable on its own (none of them has a suspending initializer).
            std::string out;
            for (const Decl* dd : d->decls()) {
                const auto* v = dyn_cast<VarDecl>(dd);
                if (!v) {
                    cx_.diags.error(dd->getLocation(), "a declaration other than a variable among several", "declare it on its own");
                    continue;
                }
                if (auto it = m_.var_of.find(v); it != m_.var_of.end()) {
                    construct(*it->second, v, nullptr, out);
                    continue;
                }
                out += "::zsync::gen::Plain<" + cx_.type_name(v->getType()) + "> " + v->getNameAsString();
                if (v->getInit()) {
                    if (v->getInitStyle() == VarDecl::CInit) out += " = " + expr(v->getInit());
                    else out += cx_.rewritten(SourceRange(Lexer::getLocForEndOfToken(v->getLocation(), 0, cx_.sm, cx_.lang), v->getInit()->getEndLoc()));
                }
                out += "; ";
            }
            return out;
        }
        const auto* v = dyn_cast<VarDecl>(d->getSingleDecl());
        if (!v) return plain(d);
        SuspendPoint* p = point_of(d);
        auto fit = m_.var_of.find(v);
        FrameVar* fv = fit == m_.var_of.end() ? nullptr : fit->second;
        std::string out;
        if (!fv) {
            // A local constructed from a leaf's result, not alive across a later suspension.
            std::string value = suspend(*p, "", out);
            out += range(d->getBeginLoc(), v->getInit()->getBeginLoc()) + value + "; ";
            return out;
        }
        return construct(*fv, v, p, out);
    }

    std::string target_ptr(const FrameVar& fv) {
        if (fv.kind == FrameVar::Kind::result) return frm(names::dest);
        return frm(fv.path) + ".ptr()";
    }

    // Constructs frame-held `fv` from its initializer (which may be suspension point p).
    std::string construct(FrameVar& fv, const VarDecl* v, SuspendPoint* p, std::string& out) {
        if (p) {
            if (p->kind == SuspendKind::embedded && !p->callee->returns_void && same_type(p->callee->decl->getReturnType(), v->getType()) &&
                fv.kind != FrameVar::Kind::pointer) {
                suspend(*p, target_ptr(fv), out);
                out += mark_alive(fv.alive_bit);
                return out;
            }
            std::string value;
            if (p->kind == SuspendKind::leaf) {
                value = suspend(*p, "", out);
            } else {
                suspend(*p, value_slot(*p) + ".ptr()", out);
                value = "static_cast<" + p->callee->result_type + "&&>(" + value_slot(*p) + ".get())";
            }
            if (fv.kind == FrameVar::Kind::pointer) {
                cx_.diags.error(v->getLocation(), "a reference initialised by a suspending call", "declare a value");
                return out;
            }
            out += "::zsync::gen::emplace(" + target_ptr(fv) + ", [&]() -> " + fv.type + " { return " + value + "; }); " +
                   mark_alive(fv.alive_bit);
            if (p->kind == SuspendKind::embedded) out += value_slot(*p) + ".destroy(); ";
            return out;
        }
        const Expr* init = v->getInit();
        if (fv.kind == FrameVar::Kind::plain) return out;
        if (fv.kind == FrameVar::Kind::pointer) {
            out += frm(fv.path) + " = &(" + expr(init) + "); ";
            return out;
        }
        const auto* implicit_ctor = dyn_cast_or_null<CXXConstructExpr>(init);
        bool defaulted_args = implicit_ctor != nullptr;
        if (implicit_ctor)
            for (const Expr* a : implicit_ctor->arguments()) defaulted_args = defaulted_args && isa<CXXDefaultArgExpr>(a);
        if (!init || (implicit_ctor && defaulted_args && !implicit_ctor->getParenOrBraceRange().isValid() &&
                      !implicit_ctor->isListInitialization())) {
            out += "::zsync::gen::emplace_default(" + target_ptr(fv) + "); " + mark_alive(fv.alive_bit);  // T x;
            return out;
        }
        std::string value;
        switch (v->getInitStyle()) {
        case VarDecl::CInit:
            value = expr(init);
            break;
        default: {
            // T x(a, b) / T x{a, b}: the unqualified type, then the text from after the name to the end of
            // the declaration (the parentheses are not part of a scalar's initializer).
            const std::string type = cx_.type_name(v->getType().getUnqualifiedType());
            SourceLocation after_name = Lexer::getLocForEndOfToken(v->getLocation(), 0, cx_.sm, cx_.lang);
            SourceLocation end = v->getEndLoc();
            if (v->getInitStyle() == VarDecl::CallInit && !isa<CXXConstructExpr, ParenListExpr>(init)) {
                // `int x(5)`: the declaration ends at the initializer; its closing parenthesis follows.
                if (auto next = Lexer::findNextToken(init->getEndLoc(), cx_.sm, cx_.lang); next && next->is(tok::r_paren))
                    end = next->getLocation();
            }
            value = type + (repl_.empty() ? cx_.rewritten(SourceRange(after_name, end)) : render(after_name, end));
            break;
        }
        }
        if (init && isa<ImplicitValueInitExpr, CXXScalarValueInitExpr>(init)) value = fv.type + "{}";
        out += "::zsync::gen::emplace(" + target_ptr(fv) + ", [&]() -> " + fv.type + " { return " + value + "; }); " +
               mark_alive(fv.alive_bit);
        return out;
    }

    std::string scope_end(const Stmt* s, bool allow_plant = true) {
        auto it = m_.scope_of.find(s);
        if (it == m_.scope_of.end()) return {};
        std::string out;
        Scope* sc = it->second;
        for (auto v = sc->vars.rbegin(); v != sc->vars.rend(); ++v) {
            std::string d = destroy_text(m_, **v);
            if (!d.empty() && allow_plant && cx_.options.plant == PlantedBug::drop_destructor && !planted_) {
                planted_ = true;  // planted bug 1: this destructor never runs at the scope's end
                continue;
            }
            out += d;
        }
        return out;
    }

    // `if (T x = init)` / `switch (T x = init)`: declared before the statement, in its scope (the
    // caller opened it): through the suspension when init suspends, as a frame object or a local.
    std::string condition_variable(const DeclStmt* ds, const VarDecl* cv) {
        if (point_of(ds)) return declaration(ds);
        if (m_.var_of.count(cv)) return var_decl_of(cv);
        return cx_.rewritten(SourceRange(ds->getBeginLoc(), cv->getEndLoc())) + "; ";
    }

    std::string var_decl_of(const VarDecl* v) {
        auto it = m_.var_of.find(v);
        if (it == m_.var_of.end()) return {};
        std::string out;
        return construct(*it->second, v, nullptr, out);
    }

    std::string stmt(const Stmt* s) {
        if (!s) return {};
        if (!m_.structured.count(s)) return plain(s) + " ";
        // A sub-statement (a loop's or if's body without braces) prints as several statements here.
        const Stmt* parent = m_.parents->getParent(s);
        const bool init_statement = [&] {
            if (const auto* i = dyn_cast_or_null<IfStmt>(parent)) return i->getInit() == s;
            if (const auto* w = dyn_cast_or_null<SwitchStmt>(parent)) return w->getInit() == s;
            if (const auto* f = dyn_cast_or_null<ForStmt>(parent)) return f->getInit() == s;
            if (const auto* r = dyn_cast_or_null<CXXForRangeStmt>(parent)) return r->getInit() == s;
            return false;
        }();
        if (parent && !init_statement && !isa<CompoundStmt>(parent) && !isa<CompoundStmt>(s)) return "{ " + structured(s) + "} ";
        return structured(s);
    }

    std::string structured(const Stmt* s) {
        if (auto it = m_.lifted_of.find(s); it != m_.lifted_of.end()) return lifted_statement(*it->second);
        if (const auto* c = dyn_cast<CompoundStmt>(s)) {
            std::string out = "{ ";
            std::vector<const Stmt*> body(c->body_begin(), c->body_end());
            if (cx_.options.plant == PlantedBug::swap_calls && !swapped_) {
                for (size_t i = 0; i + 1 < body.size(); ++i) {
                    SuspendPoint* a = point_of(body[i]);
                    SuspendPoint* b = point_of(body[i + 1]);
                    if (a && b && isa<Expr>(body[i]) && isa<Expr>(body[i + 1])) {
                        std::swap(body[i], body[i + 1]);  // planted bug 2: two suspending calls swapped
                        swapped_ = true;
                        break;
                    }
                }
            }
            for (const Stmt* ch : body) out += stmt(ch);
            out += scope_end(c) + "} ";
            return out;
        }
        if (const auto* d = dyn_cast<DeclStmt>(s)) return declaration(d);
        if (const auto* r = dyn_cast<ReturnStmt>(s)) return return_statement(r);
        if (const auto* e = dyn_cast<Expr>(s)) {
            SuspendPoint* p = point_of(s);
            if (!p) return plain(s) + " ";
            return expression_statement(e, *p);
        }
        if (const auto* i = dyn_cast<IfStmt>(s)) {
            std::string out;
            const bool scoped = i->getInit() || i->getConditionVariable();
            if (scoped) out += "{ " + stmt(i->getInit());
            std::string cond;
            if (const VarDecl* cv = i->getConditionVariable()) {
                out += condition_variable(i->getConditionVariableDeclStmt(), cv);
                cond = m_.var_of.count(cv) ? "static_cast<bool>(" + access(m_, *m_.var_of[cv]) + ")" : cv->getNameAsString();
            } else {
                cond = expr(i->getCond());
            }
            out += std::string("if ") + (i->isConstexpr() ? "constexpr " : "") + "(" + cond + ") " + stmt(i->getThen());
            if (i->getElse()) out += "else " + stmt(i->getElse());
            if (scoped) out += scope_end(i) + "} ";
            return out;
        }
        if (const auto* f = dyn_cast<ForStmt>(s)) {
            std::string out = "{ " + stmt(f->getInit());
            out += "for (; " + (f->getCond() ? expr(f->getCond()) : std::string()) + "; " +
                   (f->getInc() ? expr(f->getInc()) : std::string()) + ") " + stmt(f->getBody());
            out += scope_end(f) + "} ";
            return out;
        }
        if (const auto* w = dyn_cast<WhileStmt>(s)) return "while (" + expr(w->getCond()) + ") " + stmt(w->getBody());
        if (const auto* d = dyn_cast<DoStmt>(s)) return "do " + stmt(d->getBody()) + "while (" + expr(d->getCond()) + "); ";
        if (const auto* r = dyn_cast<CXXForRangeStmt>(s)) return range_for(r);
        if (const auto* sw = dyn_cast<SwitchStmt>(s)) {
            std::string out;
            const bool scoped = sw->getInit() || sw->getConditionVariable();
            if (scoped) out += "{ " + stmt(sw->getInit());
            std::string cond = expr(sw->getCond());
            if (const VarDecl* cv = sw->getConditionVariable()) {
                out += condition_variable(sw->getConditionVariableDeclStmt(), cv);
                cond = m_.var_of.count(cv) ? access(m_, *m_.var_of[cv]) : cv->getNameAsString();
            }
            out += "switch (" + cond + ") " + stmt(sw->getBody());
            if (scoped) out += scope_end(sw) + "} ";
            return out;
        }
        if (const auto* c = dyn_cast<CaseStmt>(s)) {
            std::string out = "case " + cx_.text(c->getLHS());
            if (c->getRHS()) out += " ... " + cx_.text(c->getRHS());
            return out + ": " + stmt(c->getSubStmt());
        }
        if (const auto* d = dyn_cast<DefaultStmt>(s)) return "default: " + stmt(d->getSubStmt());
        if (const auto* a = dyn_cast<AttributedStmt>(s)) return stmt(a->getSubStmt());
        if (const auto* t = dyn_cast<CXXTryStmt>(s)) return try_statement(t);
        if (isa<NullStmt>(s)) return "; ";
        cx_.diags.error(s->getBeginLoc(), std::string("zsync-gen cannot print '") + s->getStmtClassName() + "' here",
                        "move it into a function that does not suspend");
        return {};
    }

    // A try around suspension points: resume reaches a point inside through the label before the try
    // and the try's own dispatch (a goto cannot enter a try block). A handler first destroys the
    // frame-held objects of the try block that were constructed (C++ unwinding does it for automatic
    // objects; these live in the frame).
    std::string try_statement(const CXXTryStmt* t) {
        std::string out;
        if (std::find(m_.tries.begin(), m_.tries.end(), t) != m_.tries.end()) {
            out = try_label(m_, t) + ":; try { if (zs_resuming) switch (fr->" + names::state + ") { ";
            for (auto& p : m_.points) {
                bool inside = false;
                for (const Stmt* x = p->call; x; x = m_.parents->getParent(x))
                    if (x == t->getTryBlock()) inside = true;
                if (inside) out += "case " + std::to_string(p->state) + ": goto " + dispatch_target(m_, *p, t) + "; ";
            }
            out += "default: break; } " + stmt(t->getTryBlock()) + "} ";
        } else {
            out = "try " + stmt(t->getTryBlock());  // no suspension inside: only frame objects to unwind
        }
        // What the try block may have constructed: its frame-held locals and temporaries, last first.
        std::string unwind;
        std::vector<std::string> items;
        for (auto& v : m_.vars) {
            if (v->parameter || v->alive_bit < 0 || !v->scope || !v->scope->stmt) continue;
            bool in = false;
            for (const Stmt* x = v->scope->stmt; x; x = m_.parents->getParent(x))
                if (x == t->getTryBlock()) in = true;
            if (in) items.push_back(if_alive(v->alive_bit, destroy_text(m_, *v)));
        }
        for (auto& l : m_.lifted) {
            bool in = false;
            for (const Stmt* x = l->statement; x; x = m_.parents->getParent(x))
                if (x == t->getTryBlock()) in = true;
            if (!in) continue;
            for (auto& tmp : l->temps)
                if (tmp->alive_bit >= 0)
                    items.push_back(if_alive(tmp->alive_bit, frm(tmp->path) + ".destroy(); " + mark_dead(tmp->alive_bit)));
        }
        for (auto it = items.rbegin(); it != items.rend(); ++it) unwind += *it;
        for (unsigned i = 0; i < t->getNumHandlers(); ++i) {
            const CXXCatchStmt* h = t->getHandler(i);
            std::string decl = "...";
            if (const VarDecl* e = h->getExceptionDecl())
                decl = cx_.rewritten(SourceRange(e->getBeginLoc(), e->getEndLoc()));
            else if (!h->getExceptionDecl() && h->getCaughtType().isNull())
                decl = "...";
            out += "catch (" + decl + ") { " + unwind + plain(h->getHandlerBlock()) + " } ";
        }
        return out;
    }

    std::string return_statement(const ReturnStmt* r) {
        SuspendPoint* p = point_of(r);
        if (!p) return plain(r) + " ";
        std::string out;
        const std::string cleanup = cleanup_text(cx_, m_, r, nullptr);
        if (m_.returns_void) {
            if (p->kind == SuspendKind::leaf) out += "(void)" + suspend(*p, "", out) + "; ";
            else suspend(*p, p->callee->returns_void ? "" : value_slot(*p) + ".ptr()", out);
            if (p->kind == SuspendKind::embedded && !p->callee->returns_void) out += value_slot(*p) + ".destroy(); ";
            return out + cleanup + finish_tail(m_) + " ";
        }
        if (p->kind == SuspendKind::embedded && !p->callee->returns_void && same_type(p->callee->decl->getReturnType(), m_.decl->getReturnType())) {
            suspend(*p, frm(names::dest), out);
        } else if (p->kind == SuspendKind::leaf) {
            std::string v = suspend(*p, "", out);
            out += "::zsync::gen::emplace(" + frm(names::dest) + ", [&]() -> " + m_.result_type + " { return " + v + "; }); ";
        } else {
            suspend(*p, value_slot(*p) + ".ptr()", out);
            out += "::zsync::gen::emplace(" + frm(names::dest) + ", [&]() -> " + m_.result_type + " { return static_cast<" +
                   p->callee->result_type + "&&>(" + value_slot(*p) + ".get()); }); " + value_slot(*p) + ".destroy(); ";
        }
        return out + cleanup + finish_tail(m_) + " ";
    }

    std::string range_for(const CXXForRangeStmt* r) {
        std::string out = "{ " + stmt(r->getInit());
        const VarDecl* range = cast<VarDecl>(r->getRangeStmt()->getSingleDecl());
        const VarDecl* begin = r->getBeginStmt() ? cast<VarDecl>(r->getBeginStmt()->getSingleDecl()) : nullptr;
        const VarDecl* end = r->getEndStmt() ? cast<VarDecl>(r->getEndStmt()->getSingleDecl()) : nullptr;
        FrameVar* rv = m_.var_of.count(range) ? m_.var_of[range] : nullptr;
        FrameVar* bv = begin && m_.var_of.count(begin) ? m_.var_of[begin] : nullptr;
        FrameVar* ev = end && m_.var_of.count(end) ? m_.var_of[end] : nullptr;
        FrameVar* lv = m_.var_of.count(r->getLoopVariable()) ? m_.var_of[r->getLoopVariable()] : nullptr;
        if (!rv || !bv || !ev || !lv) {
            // No suspension inside (only frame-held objects declared in the body): the loop stays a
            // range-for of resume; its body is printed statement by statement.
            const VarDecl* loop = r->getLoopVariable();
            return out + "for (" + cx_.rewritten(SourceRange(loop->getBeginLoc(), loop->getLocation())) + " : " +
                   expr(r->getRangeInit()) + ") " + stmt(r->getBody()) + "} ";
        }
        const std::string init = expr(r->getRangeInit());
        if (rv->kind == FrameVar::Kind::pointer) out += frm(rv->path) + " = &(" + init + "); ";
        else out += "::zsync::gen::emplace(" + frm(rv->path) + ".ptr(), [&]() -> " + rv->type + " { return " + init + "; }); " +
                    mark_alive(rv->alive_bit);
        const std::string R = access(m_, *rv);
        auto bound = [&](const VarDecl* v, bool is_begin) {
            const Expr* e = v->getInit()->IgnoreImplicit();
            if (const auto* mc = dyn_cast<CXXMemberCallExpr>(e))
                return "(" + R + ")." + mc->getMethodDecl()->getNameAsString() + "()";
            if (const auto* call = dyn_cast<CallExpr>(e)) {
                const auto* fd = call->getDirectCallee();
                return (fd ? fd->getNameAsString() : std::string(is_begin ? "begin" : "end")) + "(" + R + ")";
            }
            // An array: the hidden begin is the array itself, the end one past its last element.
            return is_begin ? "(" + R + ") + 0" : "(" + R + ") + (sizeof(" + R + ") / sizeof((" + R + ")[0]))";
        };
        out += "::zsync::gen::emplace(" + frm(bv->path) + ".ptr(), [&]() -> " + bv->type + " { return " + bound(begin, true) + "; }); " +
               mark_alive(bv->alive_bit);
        out += "::zsync::gen::emplace(" + frm(ev->path) + ".ptr(), [&]() -> " + ev->type + " { return " + bound(end, false) + "; }); " +
               mark_alive(ev->alive_bit);
        const std::string B = access(m_, *bv), E = access(m_, *ev);
        out += "for (; " + B + " != " + E + "; ++" + B + ") { ";
        if (lv->kind == FrameVar::Kind::pointer) out += frm(lv->path) + " = &(*" + B + "); ";
        else out += "::zsync::gen::emplace(" + frm(lv->path) + ".ptr(), [&]() -> " + lv->type + " { return *" + B + "; }); " +
                    mark_alive(lv->alive_bit);
        out += stmt(r->getBody());
        out += destroy_text(m_, *lv) + "} ";
        auto it = m_.scope_of.find(r);
        if (it != m_.scope_of.end())
            for (auto v = it->second->vars.rbegin(); v != it->second->vars.rend(); ++v) out += destroy_text(m_, **v);
        return out + "} ";
    }

    // A statement whose calls are evaluated ahead (passes/lifting.hpp): the prelude computes the
    // temporaries in evaluation order (each under the conditions that guard it), the statement reads
    // them, and they are destroyed at the end of the full-expression.
    std::string prelude(const LiftedStatement& l) {
        std::string out;
        for (auto& t : l.temps)
            if (!t->flag_path.empty()) out += frm(t->flag_path) + " = false; ";
        for (auto& t : l.temps) {
            std::string guard;
            for (auto& [g, value] : t->guards) {
                if (cx_.options.plant == PlantedBug::eval_skipped_and && t->from_and && value && !planted_and_) continue;
                guard += std::string(guard.empty() ? "" : " && ") + (value ? "" : "!") + frm(g->path);
            }
            if (cx_.options.plant == PlantedBug::eval_skipped_and && t->from_and) planted_and_ = true;  // planted bug 3
            std::string body;
            const std::string slot = frm(t->path);
            if (t->point) {
                SuspendPoint& p = *t->point;
                if (p.kind == SuspendKind::embedded) {
                    suspend(p, p.callee->returns_void ? "" : slot + ".ptr()", body);
                    body += mark_alive(t->alive_bit);
                } else {
                    std::string v = suspend(p, "", body);
                    body += "::zsync::gen::emplace(" + slot + ".ptr(), [&]() -> " + t->type + " { return " + v + "; }); " +
                            mark_alive(t->alive_bit);
                }
            } else if (t->kind == LiftTemp::Kind::boolean) {
                body += slot + " = static_cast<bool>(" + expr(t->computed) + "); ";
            } else if (t->kind == LiftTemp::Kind::pointer) {
                body += slot + " = &(" + expr(t->computed) + "); ";
            } else {
                std::string value = expr(t->computed);
                if (!t->suffix.empty()) {  // the operator-> call's text ends with the arrow it stands for
                    while (!value.empty() && isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
                    if (value.size() >= 2 && value.compare(value.size() - 2, 2, "->") == 0) value.resize(value.size() - 2);
                    value += ".operator->()";
                }
                body += "::zsync::gen::emplace(" + slot + ".ptr(), [&]() -> " + t->type + " { return " + value + "; }); " +
                        mark_alive(t->alive_bit);
            }
            if (!t->flag_path.empty()) body += frm(t->flag_path) + " = true; ";
            out += guard.empty() ? body : "if (" + guard + ") { " + body + "} ";
            // From here on the statement (and later temporaries) read the value.
            if (t->kind == LiftTemp::Kind::pointer) repl_[t->expr] = "(*" + slot + ")";
            else if (t->kind == LiftTemp::Kind::boolean) repl_[t->expr] = slot;
            else if (t->point && t->point->callee && t->point->callee->returns_void) repl_[t->expr] = "(void)0";
            else repl_[t->expr] = "static_cast<" + t->type + "&&>(" + slot + ".get())" + t->suffix;
        }
        return out;
    }

    std::string lifted_statement(const LiftedStatement& l) {
        repl_.clear();
        std::string out = prelude(l);
        const std::string done = lifted_cleanup(l, nullptr);
        const Stmt* s = l.statement;
        const std::string cond = l.cond_type.empty() ? std::string() : frm(l.path) + ".zs_cond";
        if (const auto* r = dyn_cast<ReturnStmt>(s)) {
            const std::string cleanup = cleanup_text(cx_, m_, r, nullptr);
            if (m_.returns_void) out += expr(r->getRetValue()) + "; ";
            else out += "::zsync::gen::emplace(" + frm(names::dest) + ", [&]() -> " + m_.result_type + " { return " +
                        expr(r->getRetValue()) + "; }); ";
            out += done + cleanup + finish_tail(m_) + " ";
        } else if (const auto* d = dyn_cast<DeclStmt>(s)) {
            const auto* v = cast<VarDecl>(d->getSingleDecl());
            if (auto it = m_.var_of.find(v); it != m_.var_of.end()) construct(*it->second, v, nullptr, out);
            else out += range(d->getBeginLoc(), v->getInit()->getBeginLoc()) + expr(v->getInit()) + "; ";
            out += done;
        } else if (const auto* i = dyn_cast<IfStmt>(s)) {
            std::string head = out + cond + " = static_cast<bool>(" + expr(l.full) + "); " + done;
            repl_.clear();
            const bool scoped = i->getInit() != nullptr;
            if (i->getConditionVariable())
                cx_.diags.error(i->getBeginLoc(), "a suspending call in an if with a condition variable", "declare the variable before the if");
            out = scoped ? "{ " + stmt(i->getInit()) + head : head;
            out += "if (" + cond + ") " + stmt(i->getThen());
            if (i->getElse()) out += "else " + stmt(i->getElse());
            if (scoped) out += scope_end(i) + "} ";
            return out;
        } else if (const auto* sw = dyn_cast<SwitchStmt>(s)) {
            std::string head = out + cond + " = " + expr(l.full) + "; " + done;
            repl_.clear();
            const bool scoped = sw->getInit() != nullptr;
            out = scoped ? "{ " + stmt(sw->getInit()) + head : head;
            out += "switch (" + cond + ") " + stmt(sw->getBody());
            if (scoped) out += scope_end(sw) + "} ";
            return out;
        } else if (const auto* w = dyn_cast<WhileStmt>(s)) {
            std::string head = out + cond + " = static_cast<bool>(" + expr(l.full) + "); " + done + "if (!" + cond + ") break; ";
            repl_.clear();
            return "while (true) { " + head + stmt(w->getBody()) + "} ";
        } else if (const auto* f = dyn_cast<ForStmt>(s)) {
            std::string head = out + cond + " = static_cast<bool>(" + expr(l.full) + "); " + done + "if (!" + cond + ") break; ";
            repl_.clear();
            std::string o = "{ " + stmt(f->getInit());
            o += "for (; ; " + (f->getInc() ? expr(f->getInc()) : std::string()) + ") { " + head + stmt(f->getBody()) + "} ";
            return o + scope_end(f) + "} ";
        } else if (const auto* d = dyn_cast<DoStmt>(s)) {
            // `continue` in the body comes here (printer/edits.cpp): the condition is evaluated first.
            std::string head = out + cond + " = static_cast<bool>(" + expr(l.full) + "); " + done + "if (!" + cond + ") break; ";
            repl_.clear();
            return "do { " + stmt(d->getBody()) + names::continue_label(l.member) + ":; " + head + "} while (true); ";
        } else {
            out += expr(l.full) + "; " + done;
        }
        repl_.clear();
        return out;
    }

private:
    std::map<const Expr*, std::string> repl_;  // lifted expressions -> their temporaries, while printing one
    bool planted_and_ = false;
    Context& cx_;
    FunctionModel& m_;
    bool planted_ = false;
    bool swapped_ = false;
};

}  // namespace

std::string body_text(Context& cx, FunctionModel& m) {
    BodyPrinter p(cx, m);
    return p.stmt(m.decl->getBody());
}

}  // namespace zsync_gen
