#include "passes/lifting.hpp"
#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMap.h>
#include <clang/AST/StmtCXX.h>
#include <set>

namespace zsync_gen {

namespace {

using namespace clang;

}  // namespace

bool is_statement_context(const Stmt* parent, const Stmt* child) {
    if (isa<CompoundStmt, CaseStmt, DefaultStmt, AttributedStmt>(parent)) return true;
    if (const auto* i = dyn_cast<IfStmt>(parent)) return i->getThen() == child || i->getElse() == child || i->getInit() == child;
    if (const auto* w = dyn_cast<WhileStmt>(parent)) return w->getBody() == child;
    if (const auto* d = dyn_cast<DoStmt>(parent)) return d->getBody() == child;
    if (const auto* f = dyn_cast<ForStmt>(parent)) return f->getBody() == child || f->getInit() == child;
    if (const auto* r = dyn_cast<CXXForRangeStmt>(parent)) return r->getBody() == child;
    if (const auto* s = dyn_cast<SwitchStmt>(parent)) return s->getBody() == child || s->getInit() == child;
    return false;
}

namespace {

// Whether evaluating `e` can have an effect a suspension could reorder: a call (also of a non-trivial
// constructor), an assignment, an increment, new/delete, throw.
bool impure(const Stmt* e) {
    if (!e) return false;
    if (isa<CallExpr, CXXNewExpr, CXXDeleteExpr, CXXThrowExpr, CompoundAssignOperator>(e)) return true;
    if (const auto* c = dyn_cast<CXXConstructExpr>(e); c && !c->getConstructor()->isTrivial()) return true;
    if (const auto* b = dyn_cast<BinaryOperator>(e); b && b->isAssignmentOp()) return true;
    if (const auto* u = dyn_cast<UnaryOperator>(e); u && u->isIncrementDecrementOp()) return true;
    for (const Stmt* c : e->children())
        if (impure(c)) return true;
    return false;
}

class Planner {
public:
    Planner(Context& cx, FunctionModel& m, LiftedStatement& l) : cx_(cx), m_(m), l_(l) {
        for (SuspendPoint* p : l.points) {
            calls_[p->call] = p;
            for (const Stmt* s = p->call; s; s = m.parents->getParent(s)) {
                holds_.insert(s);
                if (s == l.full) break;
            }
        }
    }

    void visit(const Expr* e, std::vector<std::pair<LiftTemp*, bool>> guards, bool from_and) {
        if (!e || !holds_.count(e)) return;
        if (const auto* b = dyn_cast<BinaryOperator>(e); b && b->isLogicalOp()) {
            visit(b->getLHS(), guards, from_and);
            if (holds_.count(b->getRHS())) {
                LiftTemp* t = temp(b->getLHS(), LiftTemp::Kind::boolean, guards, from_and);
                guards.push_back({t, b->getOpcode() == BO_LAnd});
                visit(b->getRHS(), guards, from_and || b->getOpcode() == BO_LAnd);
            }
            return;
        }
        if (const auto* c = dyn_cast<ConditionalOperator>(e)) {
            visit(c->getCond(), guards, from_and);
            if (holds_.count(c->getTrueExpr()) || holds_.count(c->getFalseExpr())) {
                LiftTemp* t = temp(c->getCond(), LiftTemp::Kind::boolean, guards, from_and);
                auto g = guards;
                g.push_back({t, true});
                visit(c->getTrueExpr(), g, from_and);
                g.back().second = false;
                visit(c->getFalseExpr(), g, from_and);
            }
            return;
        }
        if (isa<BinaryConditionalOperator>(e)) {
            cx_.diags.error(e->getBeginLoc(), "a suspending call inside a GNU '?:' with an omitted middle operand",
                            "write the condition out: `c ? c : d`");
            return;
        }
        // The children in the order clang evaluates them.
        std::vector<const Stmt*> order;
        if (const auto* b = dyn_cast<BinaryOperator>(e); b && b->isAssignmentOp()) {
            order = {b->getRHS(), b->getLHS()};
        } else if (const auto* o = dyn_cast<CXXOperatorCallExpr>(e); o && o->isAssignmentOp() && o->getNumArgs() == 2) {
            order = {o->getArg(1), o->getArg(0)};
        } else if (const auto* mc = dyn_cast<CXXMemberCallExpr>(e)) {
            // The object is evaluated first, then the arguments; the bound member itself is no value.
            if (const auto* me = dyn_cast<MemberExpr>(mc->getCallee()->IgnoreParens())) {
                order.push_back(me->getBase());
                arrow_bases_.insert(me->isArrow() && isa<CXXOperatorCallExpr>(me->getBase()->IgnoreImpCasts()) ? me->getBase() : nullptr);
            }
            for (const Expr* a : mc->arguments()) order.push_back(a);
        } else {
            for (const Stmt* c : e->children()) order.push_back(c);
        }
        for (size_t i = 0; i < order.size(); ++i) {
            const auto* c = dyn_cast_or_null<Expr>(order[i]);
            if (!c) continue;
            if (holds_.count(c)) {
                visit(c, guards, from_and);
                continue;
            }
            bool later = false;
            for (size_t j = i + 1; j < order.size(); ++j) later = later || holds_.count(order[j]);
            if (later && impure(c)) spill(c, guards, from_and);
        }
        if (const auto* call = dyn_cast<CallExpr>(e)) {
            if (auto it = calls_.find(call); it != calls_.end()) {
                LiftTemp* t = temp(call, LiftTemp::Kind::value, guards, from_and);
                t->point = it->second;
                it->second->temp = t;
                check_consumed_by_value(call);
            }
        }
    }

private:
    LiftTemp* temp(const Expr* e, LiftTemp::Kind k, const std::vector<std::pair<LiftTemp*, bool>>& guards, bool from_and) {
        auto t = std::make_unique<LiftTemp>();
        t->expr = e;
        t->computed = e;
        t->kind = k;
        t->guards = guards;
        t->from_and = from_and;
        if (k == LiftTemp::Kind::boolean) {
            t->type = "bool";
            t->size = t->align = 1;
        } else {
            QualType qt = e->getType().getNonReferenceType();
            if (k == LiftTemp::Kind::pointer) {
                t->type = cx_.type_name(qt);
                t->size = t->align = 8;
            } else {
                qt = qt.getUnqualifiedType();
                t->type = cx_.type_name(qt);
                if (!qt->isVoidType()) {
                    auto info = cx_.ast.getTypeInfoInChars(qt);
                    t->size = info.Width.getQuantity();
                    t->align = info.Align.getQuantity();
                    t->needs_destroy = qt.isDestructedType() != QualType::DK_none;
                }
            }
        }
        l_.temps.push_back(std::move(t));
        return l_.temps.back().get();
    }

    void spill(const Expr* c, const std::vector<std::pair<LiftTemp*, bool>>& guards, bool from_and) {
        // A temporary materialised from a prvalue (bound to a reference, or used as an object): the frame
        // holds that temporary itself, built in place from the same prvalue, until the end of the
        // full-expression, as the plain function does.
        if (const auto* mte = dyn_cast<MaterializeTemporaryExpr>(c)) {
            LiftTemp* t = temp(mte, LiftTemp::Kind::value, guards, from_and);
            t->computed = mte->getSubExpr();
            return;
        }
        if (c->isGLValue()) {
            temp(c, LiftTemp::Kind::pointer, guards, from_and);
            return;
        }
        QualType t = c->getType();
        if (t->isVoidType()) {
            cx_.diags.error(c->getBeginLoc(), "an expression with effects and no value is evaluated before a suspending call "
                            "in the same expression", "make it a statement of its own before this one");
            return;
        }
        if (!t.isTriviallyCopyableType(cx_.ast)) {
            cx_.diags.error(c->getBeginLoc(), "a value of class type '" + cx_.type_name(t) + "' with effects is computed "
                            "before a suspending call in the same expression; computing it ahead would add a move the "
                            "plain function does not make",
                            "compute it in a statement of its own (`auto v = ...;`) before this one");
            return;
        }
        LiftTemp* lifted = temp(c, LiftTemp::Kind::value, guards, from_and);
        // `p->f(...)` on a smart pointer: the operator-> call's source range ends with the arrow.
        if (arrow_bases_.count(c)) lifted->suffix = "->";
    }

    // The plain function constructs an object straight from the call's value (copy elision); the frame
    // holds the value in a temporary first, so a type whose copies and moves can be seen is refused.
    void check_consumed_by_value(const CallExpr* call) {
        QualType t = call->getType();
        if (!t->isRecordType() || t.isTriviallyCopyableType(cx_.ast)) return;
        const Stmt* up = m_.parents->getParent(call);
        while (up && isa<ImplicitCastExpr, CXXBindTemporaryExpr, ParenExpr>(up)) up = m_.parents->getParent(up);
        // Materialised (bound to a reference, or an object whose member is used): the temporary is the
        // frame's. Anything else takes the prvalue itself to initialise an object (a parameter, a
        // member, the arm of ?:), which the frame could only do with a move.
        if (!up || !isa<MaterializeTemporaryExpr>(up))
            cx_.diags.error(call->getBeginLoc(), "the value of this suspending call (a '" + cx_.type_name(t) +
                            "') initialises another object inside an expression: the frame would have to move it from a "
                            "temporary, which the plain function does not do",
                            "make the call a statement of its own: `auto v = call(...);` then use v");
    }

    Context& cx_;
    FunctionModel& m_;
    LiftedStatement& l_;
    std::map<const CallExpr*, SuspendPoint*> calls_;
    std::set<const Stmt*> holds_;
    std::set<const Expr*> arrow_bases_;
};

}  // namespace

FullExpression full_expression_of(Context& cx, const ParentMap& pm, const CallExpr* call) {
    const Stmt* top = call;
    const Stmt* parent = pm.getParent(top);
    while (parent && isa<Expr>(parent)) {
        if (isa<LambdaExpr>(parent)) return {};
        top = parent;
        parent = pm.getParent(top);
    }
    const auto* full = cast<Expr>(top);
    if (!parent) return {};
    if (const auto* d = dyn_cast<DeclStmt>(parent)) {
        if (!d->isSingleDecl()) {
            cx.diags.error(d->getBeginLoc(), "a suspending call in a declaration of several variables",
                           "declare one variable per statement");
            return {};
        }
        return {d, full};
    }
    if (isa<ReturnStmt>(parent)) return {parent, full};
    if (const auto* i = dyn_cast<IfStmt>(parent); i && i->getCond() == full) return {parent, full};
    if (const auto* w = dyn_cast<WhileStmt>(parent); w && w->getCond() == full) return {parent, full};
    if (const auto* d = dyn_cast<DoStmt>(parent); d && d->getCond() == full) return {parent, full};
    if (const auto* s = dyn_cast<SwitchStmt>(parent); s && s->getCond() == full) return {parent, full};
    if (const auto* f = dyn_cast<ForStmt>(parent); f && f->getCond() == full) return {parent, full};
    if (const auto* f = dyn_cast<ForStmt>(parent); f && f->getInc() == full) {
        cx.diags.error(call->getBeginLoc(), "a suspending call in a for statement's increment",
                       "move the increment to the end of the loop body (and before each continue)");
        return {};
    }
    if (is_statement_context(parent, full)) return {full, full};
    cx.diags.error(call->getBeginLoc(), "a suspending call in a place zsync-gen cannot evaluate ahead (a range-for "
                   "range, a case label, a condition variable)", "compute it in a statement of its own first");
    return {};
}

void plan_lifting(Context& cx, FunctionModel& m) {
    for (auto& l : m.lifted) {
        Planner p(cx, m, *l);
        p.visit(l->full, {}, false);
        if (llvm::isa<IfStmt, WhileStmt, DoStmt, ForStmt>(l->statement)) {
            l->cond_type = "bool";
            l->cond_size = l->cond_align = 1;
        } else if (llvm::isa<SwitchStmt>(l->statement)) {
            QualType t = l->full->getType().getUnqualifiedType();
            l->cond_type = cx.type_name(t);
            auto info = cx.ast.getTypeInfoInChars(t);
            l->cond_size = info.Width.getQuantity();
            l->cond_align = info.Align.getQuantity();
        }
        for (SuspendPoint* sp : l->points)
            if (!sp->temp)
                cx.diags.error(sp->call->getBeginLoc(), "zsync-gen could not place this suspending call in the evaluation "
                               "order of its expression", "make the call a statement of its own");
    }
}

}  // namespace zsync_gen
