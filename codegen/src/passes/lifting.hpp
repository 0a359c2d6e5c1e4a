// Pass 2b (zsync-gen part 2): suspending calls inside expressions. For each statement whose
// full-expression holds a suspending call that is not the whole statement, the calls are evaluated
// ahead of the statement into frame temporaries, in the order clang evaluates them: arguments left to
// right, operands left to right, the right side of an assignment first. The left side of && / || and
// the condition of ?: are computed first when the other side suspends, and guard it, so the side C++
// skips is never evaluated (nor suspends). A call with effects evaluated before a suspending call in
// the same expression is computed ahead too, in its place in the order. Temporaries live until the end
// of the full-expression. What cannot be lifted faithfully is a diagnostic.
#pragma once
#include "context.hpp"

namespace clang {
class ParentMap;
}

namespace zsync_gen {

// The statement that owns the full-expression holding `call`, and that full-expression; nullptr when
// the call sits somewhere lifting does not handle (reported).
struct FullExpression {
    const clang::Stmt* statement = nullptr;
    const clang::Expr* full = nullptr;
};
// Whether `child` sits where a statement stands in `parent` (a block, a branch, a loop body, an init).
bool is_statement_context(const clang::Stmt* parent, const clang::Stmt* child);

FullExpression full_expression_of(Context& cx, const clang::ParentMap& pm, const clang::CallExpr* call);

// Builds m.lifted from the points whose statement is lifted (p->lifted set by the caller).
void plan_lifting(Context& cx, FunctionModel& m);

}  // namespace zsync_gen
