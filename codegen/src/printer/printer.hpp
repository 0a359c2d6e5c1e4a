// The printer: turns a laid-out frame model into C++ text. It decides nothing about what lives where
// (the passes did); it spells it. Unchanged expressions are copied through the scratch Rewriter with
// the frame's locals substituted; statements that contain a suspension point or declare a
// frame-held local are printed one by one.
#pragma once
#include <string>
#include "context.hpp"

namespace zsync_gen {

// Applies the expression-level edits of m's body to cx.scratch: frame-held locals become frame
// accesses, returns/breaks/continues run the destructors of what they leave.
void prepare_edits(Context& cx, FunctionModel& m);

// The frame struct of m (and, when annotated, its descriptor and registration), to be inserted in the
// namespace of m's definition. `after_namespace` receives what must be printed at global scope
// (the frame_of specialisation and the size static_assert).
struct PrintedFrame {
    std::string in_namespace;
    std::string at_global_scope;
    std::uint64_t frame_size = 0;  // frame_size<F> (annotated), or the frame struct's size
};
PrintedFrame print_frame(Context& cx, FunctionModel& m);

// Shared by the printer's files.
std::string access(const FunctionModel& m, const FrameVar& v);
// Exception-aware frames keep a bit per object with a destructor: set once constructed (`base` is the
// frame pointer's name), cleared when destroyed, read when an exception unwinds the frame.
std::string mark_alive(int bit, const std::string& base = "fr");
std::string mark_dead(int bit, const std::string& base = "fr");
std::string if_alive(int bit, const std::string& then);
std::string clear_alive(const FunctionModel& m, const std::string& base);
// Where resume's dispatch (inside == nullptr) or the dispatch inside try statement `inside` sends a
// frame waiting at p: the next try around p (its label), or p's resume label.
std::string dispatch_target(const FunctionModel& m, const SuspendPoint& p, const clang::Stmt* inside);
std::string try_label(const FunctionModel& m, const clang::Stmt* t);
std::string destroy_text(const FunctionModel& m, const FrameVar& v);
// Destructors to run when control leaves from `at` up to (not including) the scopes outside `target`
// (a loop or switch; nullptr: the whole function). `skip` is not destroyed (a returned NRVO variable).
std::string cleanup_text(Context& cx, const FunctionModel& m, const clang::Stmt* at, const clang::Stmt* target,
                         const clang::VarDecl* skip = nullptr);
// What a finished function does after its locals are gone: destroy parameters, mark it finished.
std::string finish_tail(const FunctionModel& m);
std::string body_text(Context& cx, FunctionModel& m);
// Destructors of a lifted statement's temporaries constructed before `before` (all when nullptr), in
// reverse order; those computed under a condition only if they were.
std::string lifted_cleanup(const LiftedStatement& l, const LiftTemp* before);

}  // namespace zsync_gen
