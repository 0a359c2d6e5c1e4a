// Pass 1: which calls suspend. A call suspends when it calls a library leaf (leaves.def) or a function
// that suspends: one annotated zsync::stackless, or one defined in this file that makes a suspending
// call (inferred, DESIGN.md §5 "Boundaries"). Calls that may suspend but cannot be seen through — a
// pointer or virtual call passing an Io, a function of another translation unit without the
// annotation, a library function with no frame yet — are diagnostics, never guesses.
#pragma once
#include <map>
#include <set>
#include <vector>
#include "context.hpp"

namespace clang {
class CallExpr;
class FunctionDecl;
class Stmt;
}  // namespace clang

namespace zsync_gen {

struct CallClass {
    enum Kind { plain, leaf_call, embedded, refused } kind = plain;
    const Leaf* leaf = nullptr;
    const clang::FunctionDecl* callee = nullptr;  // the definition, for embedded
};

class Suspension {
public:
    explicit Suspension(Context& cx) : cx_(cx) {}
    // Classifies one call; reports a diagnostic (once per call) when it is refused.
    CallClass classify(const clang::CallExpr* call);
    // Whether a function defined in this file suspends (annotated, or makes a suspending call).
    bool suspends(const clang::FunctionDecl* definition);
    // The annotation check: true when `f` carries zsync::stackless (reports unknown annotations).
    bool annotated(const clang::FunctionDecl* f);
    // True the first time a diagnostic is reported at `call` (one diagnostic per call).
    bool report_once(const clang::CallExpr* call) { return reported_.insert(call).second; }

private:
    bool body_suspends(const clang::Stmt* body);
    Context& cx_;
    std::map<const clang::FunctionDecl*, bool> memo_;
    std::set<const clang::FunctionDecl*> in_progress_;
    std::set<const clang::CallExpr*> reported_;
    std::set<const void*> reported_attrs_;
    std::map<const clang::FunctionDecl*, std::vector<const clang::CallExpr*>> pending_;
};

const Leaf* find_leaf(const std::string& qualified_name);

// Why a member function cannot have a frame nested in its class ("" when it can): the class must be
// defined in this file at namespace scope (not a template, a union or a lambda), and the function must
// not be a constructor, destructor or conversion, nor virtual unless final.
std::string member_frame_refusal(const clang::SourceManager& sm, const clang::FunctionDecl* f);

}  // namespace zsync_gen
