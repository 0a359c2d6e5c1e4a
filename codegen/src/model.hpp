// The frame model: what one suspending function's frame holds, built by the passes and read by the
// printer. Nothing here prints; nothing in the printer decides what lives where.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace clang {
class CallExpr;
class Expr;
class FunctionDecl;
class Stmt;
class VarDecl;
class DeclContext;
class ParentMap;
}  // namespace clang

namespace zsync_gen {

// A library function that performs exactly one Operation (leaves.def).
struct Leaf {
    const char* qualified_name;  // e.g. "zsync::File::read"
    const char* operation;       // C++ expression; $self = object, $0.. = arguments
    const char* convert;         // zsync::gen function turning the finished Operation into the result
};

struct Scope;
struct FunctionModel;
struct LiftedStatement;
struct LiftTemp;

// A local or parameter that the frame holds (its scope contains a suspension point).
struct FrameVar {
    const clang::VarDecl* decl = nullptr;
    enum class Kind {
        slot,     // zsync::gen::Slot<T>: constructed/destroyed by the frame
        plain,    // a trivial T with no initializer: a plain member
        pointer,  // a reference: the frame holds a pointer to the referent
        result,   // the NRVO variable: it lives in the frame's result slot
        dead,     // a parameter the frame never reads (an Io only handed to leaves): not stored
    } kind = Kind::slot;
    bool parameter = false;
    bool needs_destroy = false;   // non-trivial destructor (slot kind only)
    std::string type;             // printed type (for pointer: the referenced type)
    std::string member;           // member name
    std::string path;             // member access path below `fr->`
    Scope* scope = nullptr;
    std::uint64_t size = 0, align = 1;
    int alive_bit = -1;           // exception-aware frames: which bit of zs_alive says it is constructed
};

enum class SuspendKind { leaf, embedded };

// One place where the function may wait: a call of a leaf or of a suspending function.
struct SuspendPoint {
    int state = 0;  // the frame's state index while waiting here (>= 1)
    const clang::CallExpr* call = nullptr;
    const clang::Stmt* statement = nullptr;  // the statement it is the whole of (part 1)
    SuspendKind kind = SuspendKind::leaf;
    const Leaf* leaf = nullptr;
    FunctionModel* callee = nullptr;  // embedded
    Scope* scope = nullptr;           // innermost scope
    std::string storage_member, storage_path;  // embedded callee frame storage
    bool needs_value = false;  // the callee's result goes to a temporary slot (not straight into a local or the result)
    LiftedStatement* lifted = nullptr;  // a call inside an expression: evaluated ahead into `temp`
    LiftTemp* temp = nullptr;
};

// A value computed ahead of its statement (zsync-gen part 2, lifting): a suspending call inside an
// expression, a condition of && / || / ?: that guards one, or a call with effects evaluated before one.
struct LiftTemp {
    const clang::Expr* expr = nullptr;        // what the statement reads from the temporary instead
    const clang::Expr* computed = nullptr;    // what computes it (expr, or a materialized temporary's prvalue)
    SuspendPoint* point = nullptr;  // set for a suspending call
    enum class Kind { value, pointer, boolean } kind = Kind::value;
    std::string type;  // printed (pointee type for pointer)
    std::uint64_t size = 0, align = 1;
    bool needs_destroy = false;
    std::vector<std::pair<LiftTemp*, bool>> guards;  // computed only when each guard's value equals the bool
    bool from_and = false;  // guarded through && (the planted bug 3 drops these guards)
    std::string suffix;     // text the replaced range also covered (the `->` of an overloaded operator->)
    std::string member, path, flag_member, flag_path;  // flag: constructed (conditional temps with destructors)
    int alive_bit = -1;
};

// A statement whose full-expression holds suspending calls that are not the whole of it.
struct LiftedStatement {
    const clang::Stmt* statement = nullptr;  // expression, declaration, return, or if/while/do/for/switch
    const clang::Expr* full = nullptr;       // the full-expression (for a control statement: its condition)
    std::vector<std::unique_ptr<LiftTemp>> temps;  // in evaluation order
    std::vector<SuspendPoint*> points;
    Scope* scope = nullptr;
    std::string member, path;
    std::string cond_type;                   // control statements: the condition's value is kept here
    std::uint64_t cond_size = 0, cond_align = 1;
};

// A region of the function whose frame-held locals are constructed and destroyed together.
struct Scope {
    enum class Kind { function, block, for_init, range_outer, range_iteration, if_init, switch_init } kind = Kind::block;
    const clang::Stmt* stmt = nullptr;
    Scope* parent = nullptr;
    std::vector<FrameVar*> vars;           // declaration order
    std::vector<Scope*> children;          // sequential in time: their storage overlaps
    std::vector<SuspendPoint*> embedded;   // callee frames of suspension points directly here
    std::vector<LiftedStatement*> lifted;  // statements here whose calls are evaluated ahead (their temporaries)
    std::string member, path;              // "" when the scope holds nothing
    bool holds_storage = false;            // vars, embedded frames or a child that holds storage
};

// Layout figures for the report and the static_assert (computed with the target's type sizes).
struct LayoutLine {
    std::string what;
    std::uint64_t size = 0;
};

struct FunctionModel {
    const clang::FunctionDecl* decl = nullptr;
    bool annotated = false;          // has [[clang::annotate("zsync::stackless")]]: registered by address
    bool in_main_file = true;        // else defined elsewhere (a module interface): embedded only, never registered
    const void* member_of = nullptr; // the class (a CXXRecordDecl) whose member it is: its frame is nested there
    bool has_self = false;           // a non-static member: the frame holds the object's address
    std::string self_type;           // "const C" / "C"
    std::string name;                // qualified, for diagnostics and the descriptor
    std::string frame_name;          // the generated struct
    std::string frame_qualified;     // how other frames name it
    std::string result_type;         // declared return type, printed ("" for void)
    bool returns_void = true;
    std::uint64_t result_size = 0, result_align = 1;
    const clang::VarDecl* nrvo = nullptr;
    bool uses_operation = false;     // has a leaf suspension: holds a zsync::Operation
    std::vector<std::unique_ptr<FrameVar>> vars;        // every frame-held var (params first)
    std::vector<FrameVar*> params;                      // in order (all parameters are frame-held)
    std::vector<std::unique_ptr<Scope>> scopes;         // scopes[0] is the function scope
    std::vector<std::unique_ptr<SuspendPoint>> points;  // in source order; state = index + 1
    std::map<const clang::VarDecl*, FrameVar*> var_of;
    std::set<const clang::Stmt*> suspending;            // statements that contain a suspension point
    std::vector<FunctionModel*> callees;                // embedded, for emission order
    std::uint64_t size = 0, align = 1;                  // computed layout of the frame struct
    std::vector<LayoutLine> layout;
    std::vector<std::unique_ptr<LiftedStatement>> lifted;
    std::map<const clang::Stmt*, LiftedStatement*> lifted_of;
    std::shared_ptr<clang::ParentMap> parents;          // of the body
    std::map<const clang::Stmt*, Scope*> scope_of;      // scope statements (range-for: the outer scope)
    std::map<const clang::VarDecl*, const clang::Stmt*> declared_by;  // DeclStmt / if / for / range-for
    std::set<const clang::Stmt*> structured;  // printed statement by statement (suspension or frame decl inside)
    bool exceptions = false;         // native build: exceptions unwind the frame and reach callers' handlers
    int alive_count = 0;             // bits of zs_alive (objects with destructors, for unwinding)
    std::vector<const clang::Stmt*> tries;  // try statements, in source order (their labels: zs_try_<index>)
    bool laid_out = false;
    bool failed = false;
};

}  // namespace zsync_gen
