// Pass 2: the frame model of one suspending function — its scopes, its suspension points (each the
// whole of a statement in part 1), which locals the frame holds (those whose scope contains a later
// suspension point, the NRVO variable, all parameters), and the hazards that forbid a frame
// (statement kinds outside supported.def, coroutine keywords, thread_local references, locks and
// unnameable types alive across a suspension).
#pragma once
#include "context.hpp"
#include "passes/suspension.hpp"

namespace zsync_gen {

// Builds cx.models[f] (and the models of the functions it embeds, first). Returns nullptr after
// reporting diagnostics when f cannot have a frame.
FunctionModel* build_frame(Context& cx, Suspension& suspension, const clang::FunctionDecl* f);

// The innermost scope of the model that contains `s` (by walking up the function's parent map).
Scope* scope_containing(const FunctionModel& m, const clang::Stmt* s);

}  // namespace zsync_gen
