// How program_gen makes a random program (generator.hpp). The rules that keep every program meaningful
// for the differential harness:
// - deterministic and free of undefined behaviour: the accumulator `acc` is unsigned (it wraps); every
//   int that is stored is reduced modulo a small number, so no arithmetic comes near overflow; every
//   divisor is a constant; a Result<int> is read only after the check that returns on its error;
// - terminating and small: a loop runs at most 4 times (a while/do counter is incremented first thing
//   in its body, so `continue` cannot skip it, and no other statement writes a loop counter); the loops
//   around a statement run it at most 64 times; every suspension is counted times the iterations around
//   it, so a program performs at most 40 Operations (a helper at most 6 per call);
// - only what the selected features allow (features.hpp); for part 1 a suspending call is always a
//   statement of its own (x = call(...), T x = call(...), call(...), return call(...), or the init of an
//   if/switch/for), one variable per declaration;
// - with `expressions` (part 2) a suspending call giving an int may stand where an int operand does
//   (int_atom), through v() for a Result<int>, except where zsync-gen refuses it (no_susp_);
// - no recursion: a helper calls only helpers generated before it.
#include "generator.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>
#include "rng.hpp"

namespace pgen {
namespace {

using F = Feature;
using std::string;
using std::to_string;

enum class Ty { int_, tracked, string, vec_int, vec_tracked, cvec_int, cvec_tracked, uptr, result_int };

struct Var {
    string name;
    Ty ty;
    bool writable = true;
    int size = 0;  // elements of a const vector
};

// What a function returns: decides how it gives up on an error and how it returns a value.
enum class Kind { main, result, integer, void_ref, tracked, pure };

struct Callee {
    string name;
    Kind kind;
    bool string_param = false;
    bool tracked_param = false;
    int cost = 0;  // most Operations one call performs
};

struct Limits {
    int statements;
    int depth;
    int ops;
};

constexpr int max_iterations = 64;  // all the loops around one statement together

const char* const short_strings[] = {"", "ab", "xyz", "frame"};
const char* const long_strings[] = {"a string long enough to need the heap: 0123456789",
                                    "another heap string, longer than any small-string buffer"};

class Builder {
public:
    Builder(Rng& rng, const FeatureSet& features, std::vector<Callee> callees, Kind kind, Limits limits, bool nrvo)
        : rng_(rng), features_(features), callees_(std::move(callees)), kind_(kind), limits_(limits), nrvo_(nrvo),
          stmts_left_(limits.statements) {}

    // The whole body of a function with these parameters.
    std::vector<Node> body(std::vector<Var> params);
    int ops_used() const { return ops_used_; }

private:
    using Emit = std::function<void(std::vector<Node>&)>;

    bool has(F f) const { return features_.has(f); }
    bool io() const { return kind_ != Kind::pure; }
    bool returns_result() const { return kind_ == Kind::main || kind_ == Kind::result; }
    string fresh(const char* prefix) { return prefix + to_string(++names_); }
    void declare(Var v) { scopes_.back().push_back(std::move(v)); }
    int k(int lo, int hi) { return rng_.between(lo, hi); }
    string num(int lo, int hi) { return to_string(k(lo, hi)); }

    template <class Pred>
    std::vector<const Var*> visible(Pred pred) const {
        std::vector<const Var*> out;
        for (const auto& scope : scopes_)
            for (const Var& v : scope)
                if (pred(v)) out.push_back(&v);
        return out;
    }
    const Var* any_of(Ty ty, bool writable) {
        auto vs = visible([&](const Var& v) { return v.ty == ty && (!writable || v.writable); });
        return vs.empty() ? nullptr : rng_.pick(vs);
    }

    // Budget of Operations: a suspension of `cost` Operations inside loops of `multiplier_` iterations.
    bool fits(int cost) const { return ops_used_ + cost * multiplier_ <= limits_.ops; }
    void spend(int cost) { ops_used_ += cost * multiplier_; }

    // ---- expressions (none of them suspends) ----
    string int_atom(int calls = 1);
    string int_expr();
    string cond();
    // ---- expressions that suspend (feature `expressions`) ----
    // A suspending call may appear where int_atom() is asked for, unless no_susp_ is set (an argument
    // next to a Tracked passed by value, a probe of call_args) or the nesting is deep already.
    bool susp_ok() const { return has(F::expressions) && io() && no_susp_ == 0 && expr_depth_ < 2; }
    const Callee* expr_callee();
    string susp_call();
    string susp_atom();
    // Runs fn with every suspension it spends counted `times` times (a loop condition).
    template <class Fn>
    auto counted(int times, Fn fn) {
        const int saved = multiplier_;
        multiplier_ *= times;
        auto r = fn();
        multiplier_ = saved;
        return r;
    }
    string leaf() { return rng_.chance(50) ? "io.yield()" : "io.sleep(0ms)"; }
    string call_args(const Callee& c, bool* ok);
    string callee_call(const Callee& c, bool* ok) { return c.name + "(" + call_args(c, ok) + ")"; }

    // ---- what a statement does on an error, and the returns ----
    string on_error(const string& result);
    string tail_call(Kind want);
    string error_return();
    string value_return();
    string final_return();

    // ---- statements ----
    void statement(std::vector<Node>& out);
    std::vector<Node> scope(int n, std::vector<Var> vars = {}, std::vector<Node> first = {});
    Node braced_or_single(const string& head, int n, std::vector<Var> vars = {});
    void declaration(std::vector<Node>& out);
    void update(std::vector<Node>& out);
    bool suspension(std::vector<Node>& out, bool single);
    void if_statement(std::vector<Node>& out);
    void switch_statement(std::vector<Node>& out, const string& init, const string& result);
    void loop(std::vector<Node>& out);
    void jump(std::vector<Node>& out);
    void early_return(std::vector<Node>& out);
    const Var* const_vector(std::vector<Node>& out);

    // Runs `fn` as the body of a loop of at most `iterations` iterations.
    template <class Fn>
    auto in_loop(int iterations, Fn fn) {
        ++loops_;
        ++breakables_;
        const int saved = multiplier_;
        multiplier_ *= iterations;
        auto r = fn();
        multiplier_ = saved;
        --breakables_;
        --loops_;
        return r;
    }
    int loop_bound_iterations() {
        int n = k(1, 4);
        while (n > 1 && multiplier_ * n > max_iterations) --n;
        return n;
    }
    // `n` itself, or an expression that is at most n (and may be less, even negative).
    string loop_bound(int n) { return rng_.chance(60) ? to_string(n) : "(" + int_atom() + ") % " + to_string(n) + " + 1"; }

    Rng& rng_;
    const FeatureSet& features_;
    std::vector<Callee> callees_;
    Kind kind_;
    Limits limits_;
    bool nrvo_;  // Kind::tracked: every return returns `res`
    int stmts_left_;
    std::vector<std::vector<Var>> scopes_;
    int names_ = 0;
    int depth_ = 0;
    int loops_ = 0;
    int breakables_ = 0;
    int multiplier_ = 1;
    int ops_used_ = 0;
    int no_susp_ = 0;
    int expr_depth_ = 0;
};

// ---- expressions -----------------------------------------------------------------------------------

string Builder::int_atom(int calls) {
    if (susp_ok() && rng_.chance(22)) return susp_atom();
    const int r = rng_.below(12);
    if (r < 2) return num(0, 9);
    if (r == 2) return "static_cast<int>(acc % " + num(2, 13) + "u)";
    if (r == 3 && calls > 0) {
        std::vector<const Callee*> pure;
        for (const Callee& c : callees_)
            if (c.kind == Kind::pure) pure.push_back(&c);
        if (!pure.empty()) return rng_.pick(pure)->name + "(" + int_atom(calls - 1) + ")";
    }
    auto vars = visible([](const Var&) { return true; });
    if (vars.empty()) return num(0, 9);
    const Var& v = *rng_.pick(vars);
    switch (v.ty) {
    case Ty::int_: return v.name;
    case Ty::tracked: return v.name + ".value()";
    case Ty::string: return "static_cast<int>(" + v.name + ".size())";
    case Ty::vec_int:
        return rng_.chance(50) ? "static_cast<int>(" + v.name + ".size())" : "(" + v.name + ".empty() ? 0 : " + v.name + ".back())";
    case Ty::vec_tracked:
        return rng_.chance(50) ? "static_cast<int>(" + v.name + ".size())"
                               : "(" + v.name + ".empty() ? 0 : " + v.name + ".front().value())";
    case Ty::cvec_int: return rng_.chance(30) ? "static_cast<int>(" + v.name + ".size())" : v.name + "[" + num(0, v.size - 1) + "]";
    case Ty::cvec_tracked: return v.name + "[" + num(0, v.size - 1) + "].value()";
    case Ty::uptr: return "(" + v.name + " ? " + v.name + "->value() : -2)";
    case Ty::result_int: return "*" + v.name;
    }
    return "0";
}

string Builder::int_expr() {
    switch (rng_.below(6)) {
    case 0: return int_atom() + " + " + int_atom();
    case 1: return int_atom() + " * " + num(2, 7) + " + " + int_atom();
    case 2: return int_atom() + " - " + int_atom();
    case 3: return "(" + int_atom() + ") % " + num(2, 9);
    default: return int_atom();
    }
}

// A helper that suspends and gives an int (Result<int> through v(), or int) that fits the budget and
// whose arguments this scope can provide; none takes a Tracked by value (a class-type argument made
// before a suspending call of the same expression is not supported).
const Callee* Builder::expr_callee() {
    std::vector<const Callee*> cs;
    for (const Callee& c : callees_)
        if ((c.kind == Kind::result || c.kind == Kind::integer) && !c.tracked_param && fits(c.cost) &&
            (!c.string_param || any_of(Ty::string, false)))
            cs.push_back(&c);
    return cs.empty() ? nullptr : rng_.pick(cs);
}

// `v(h(io, ...))` or `h(io, ...)`, its arguments possibly suspending too; a plain atom when none fits.
string Builder::susp_call() {
    const Callee* c = expr_callee();
    if (!c) return int_atom(0);
    spend(c->cost);  // before the arguments take their own share
    ++expr_depth_;
    bool ok = false;
    const string call = callee_call(*c, &ok);
    --expr_depth_;
    return c->kind == Kind::result ? "v(" + call + ")" : call;
}

// An int expression with at least one suspending call (when one fits), its value small (|x| < 10^4).
string Builder::susp_atom() {
    ++expr_depth_;
    string s;
    switch (rng_.below(9)) {
    case 0: s = "(" + susp_call() + " + " + susp_call() + ")"; break;
    case 1: s = "(" + susp_call() + " * " + susp_call() + ") % 1009"; break;
    case 2: s = rng_.chance(50) ? "mix(" + susp_call() + ", " + int_atom(0) + ")" : "mix(" + int_atom(0) + ", " + susp_call() + ")"; break;
    case 3:
        if (has(F::tracked)) {
            s = "weight(Tracked(" + num(0, 96) + "), " + susp_call() + ")";
            break;
        }
        [[fallthrough]];
    case 4: {
        // ?: with the suspending call on the side taken, the side skipped, or in the condition
        const int r = rng_.below(3);
        const string c = r == 2 ? susp_call() + " > " + num(0, 5) : cond();
        const string a = r == 0 ? susp_call() : int_atom(0), b = r == 1 ? susp_call() : int_atom(0);
        s = "(" + c + " ? " + (rng_.chance(50) ? a + " : " + b : b + " : " + a) + ")";
        break;
    }
    default: s = susp_call(); break;
    }
    --expr_depth_;
    return s;
}

string Builder::cond() {
    if (susp_ok() && rng_.chance(25)) {
        // && / || / with a suspending call on either side, the one that may be skipped or the other.
        const string plain = int_atom(0) + (rng_.chance(50) ? " < " : " > ") + num(0, 9);
        const string susp = susp_atom() + (rng_.chance(50) ? " >= " : " != ") + num(-1, 5);
        const char* op = rng_.chance(50) ? " && " : " || ";
        return rng_.chance(50) ? "(" + plain + op + susp + ")" : "(" + susp + op + plain + ")";
    }
    if (rng_.chance(12)) {
        const string a = cond(), b = cond();
        return "(" + a + (rng_.chance(50) ? ") && (" : ") || (") + b + ")";
    }
    switch (rng_.below(8)) {
    case 0: {
        const int m = k(2, 4);
        return "(" + int_expr() + ") % " + to_string(m) + " == " + num(0, m - 1);
    }
    case 1: return int_atom() + " < " + num(0, 9);
    case 2: return int_atom() + " > " + num(0, 9);
    case 3: return "acc % " + num(2, 3) + "u == 0u";
    case 4:
        if (const Var* s = any_of(Ty::string, false))
            return rng_.chance(50) ? "!" + s->name + ".empty()" : s->name + ".size() > " + num(2, 20) + "u";
        break;
    case 5:
        if (const Var* p = any_of(Ty::uptr, false)) return rng_.chance(50) ? p->name + " != nullptr" : "!" + p->name;
        break;
    case 6:
        if (const Var* v = any_of(Ty::vec_int, false)) return v->name + ".empty()";
        break;
    default: break;
    }
    return int_atom() + " == " + num(0, 4);
}

// The arguments of a call to a helper: `io` first; false in *ok when this scope cannot provide one.
string Builder::call_args(const Callee& c, bool* ok) {
    *ok = true;
    if (c.kind == Kind::pure) return int_atom(0);
    string args = "io";
    if (c.kind == Kind::void_ref) {
        const Var* x = any_of(Ty::int_, true);
        if (!x) *ok = false;
        return args + ", " + (x ? x->name : "?");
    }
    if (c.string_param) {
        const Var* s = any_of(Ty::string, false);
        if (!s) *ok = false;
        args += ", " + (s ? s->name : string("?"));
    }
    bool moved = false;
    // No suspending argument next to a Tracked argument by value (made before it), nor in a call whose
    // value is a Tracked (zsync-gen refuses a class-type suspending call inside an expression).
    const bool plain_args = c.tracked_param || c.kind == Kind::tracked;
    if (plain_args) ++no_susp_;
    if (c.tracked_param) {
        const Var* t = any_of(Ty::tracked, false);
        const int r = rng_.below(3);
        if (t && r == 0) args += ", " + t->name;  // a copy
        else if (t && r == 1 && t->writable) args += ", std::move(" + t->name + ")", moved = true;
        else args += ", Tracked(" + num(0, 50) + ")";
    }
    // The order arguments are evaluated in is unspecified: none reads what another one moves from.
    args += ", " + (moved ? num(0, 9) : "(" + int_expr() + ") % 1009");
    if (plain_args) --no_susp_;
    return args;
}

// ---- errors and returns ------------------------------------------------------------------------------

string Builder::on_error(const string& result) {
    switch (kind_) {
    case Kind::main:
    case Kind::result: return "return " + result + ".error();";
    case Kind::integer: return "return -" + num(1, 9) + ";";
    case Kind::void_ref: return "return;";
    case Kind::tracked: return nrvo_ ? "{ res.set(-" + num(1, 9) + "); return res; }" : "return Tracked(-" + num(1, 9) + ");";
    case Kind::pure: break;
    }
    return "return;";
}

// `return h(io, ...);` for a helper of this kind that fits the budget (a suspension), or "".
string Builder::tail_call(Kind want) {
    for (const Callee& c : callees_)
        if (c.kind == want && fits(c.cost) && rng_.chance(50)) {
            bool ok = false;
            ++no_susp_;
            (void)call_args(c, &ok);  // can this scope provide the arguments?
            --no_susp_;
            if (!ok) continue;
            spend(c.cost);  // before the arguments, which may suspend too
            return "return " + callee_call(c, &ok) + ";";
        }
    return "";
}

// A return of an error the function makes itself (functions returning a Result).
string Builder::error_return() {
    const char* codes[] = {"invalid_argument", "timeout", "end_of_stream"};
    return string("return zsync::Error(zsync::Errc::") + codes[rng_.below(3)] + ", zsync::Op::nop);";
}

// A return in the middle of the function: a value, or a helper's result (a suspension).
string Builder::value_return() {
    switch (kind_) {
    case Kind::main:
    case Kind::result:
        if (has(F::result_helpers) && rng_.chance(40))
            if (string r = tail_call(Kind::result); !r.empty()) return r;
        if (susp_ok() && rng_.chance(40)) return "return (" + susp_atom() + " + static_cast<int>(acc % 7u)) % 1009;";
        return "return static_cast<int>(acc % " + string(kind_ == Kind::main ? "1000003u" : "1009u") + ");";
    case Kind::integer:
        if (rng_.chance(30))
            if (string r = tail_call(Kind::integer); !r.empty()) return r;
        if (susp_ok() && rng_.chance(40)) return "return (" + susp_atom() + " + static_cast<int>(acc % 7u)) % 1009;";
        return "return static_cast<int>(acc % 1009u);";
    case Kind::void_ref: return "return;";
    case Kind::tracked:
        if (nrvo_) return "return res;";
        if (rng_.chance(30))
            if (string r = tail_call(Kind::tracked); !r.empty()) return r;
        return rng_.chance(50) ? "return res;" : "return Tracked(" + num(0, 96) + ");";
    case Kind::pure: return "return static_cast<int>(acc % 101u);";
    }
    return "return;";
}

string Builder::final_return() {
    if (has(F::early_returns) && rng_.chance(25)) {
        // a helper's result as the last statement
        if ((kind_ == Kind::main || kind_ == Kind::result) && has(F::result_helpers))
            if (string r = tail_call(Kind::result); !r.empty()) return r;
        if (kind_ == Kind::integer)
            if (string r = tail_call(Kind::integer); !r.empty()) return r;
    }
    if (susp_ok() && (kind_ == Kind::main || kind_ == Kind::result || kind_ == Kind::integer) && rng_.chance(30))
        return "return (" + susp_atom() + " + static_cast<int>(acc % 7u)) % 1009;";
    switch (kind_) {
    case Kind::main: return "return static_cast<int>(acc % 1000003u);";
    case Kind::result:
    case Kind::integer: return "return static_cast<int>(acc % 1009u);";
    case Kind::void_ref: return "out = static_cast<int>((acc + static_cast<unsigned>(out)) % 1009u);";
    case Kind::tracked:
        return nrvo_ || rng_.chance(50) ? "res.set(static_cast<int>(acc % 97u));\nreturn res;" : "return Tracked(" + num(0, 96) + ");";
    case Kind::pure: return "return static_cast<int>(acc % 101u);";
    }
    return "";
}

// ---- statements ----------------------------------------------------------------------------------------

std::vector<Node> Builder::body(std::vector<Var> params) {
    scopes_.push_back(std::move(params));
    std::vector<Node> out;
    out.push_back(line("unsigned acc = " + num(1, 99) + "u;"));
    if (kind_ == Kind::tracked) {
        out.push_back(line("Tracked res(" + num(0, 96) + ");"));
        declare({"res", Ty::tracked});
    }
    while (stmts_left_ > 0) statement(out);
    // Every function that can suspend does, at least once (when the budget allows).
    if (io() && ops_used_ == 0 && has(F::leaves) && fits(1)) {
        spend(1);
        const string r = fresh("r");
        out.push_back(line("if (auto " + r + " = " + leaf() + "; !" + r + ") " + on_error(r)));
    }
    string last = final_return();
    for (std::size_t at = 0; at != string::npos;) {
        const std::size_t nl = last.find('\n', at);
        out.push_back(line(last.substr(at, nl == string::npos ? string::npos : nl - at)));
        at = nl == string::npos ? nl : nl + 1;
    }
    scopes_.pop_back();
    if (kind_ == Kind::main && has(F::try_catch)) {
        // No exception leaves the program: its body is a try whose handler returns a value.
        std::vector<Node> inner(std::make_move_iterator(out.begin() + 1), std::make_move_iterator(out.end()));
        out.resize(1);
        out.push_back(Node{{{"try {", std::move(inner)},
                            {"} catch (const Thrown& e) {",
                             {line("return static_cast<int>((acc + static_cast<unsigned>(e.code)) % 1000003u);")}}},
                           "}"});
    }
    return out;
}

// Up to n statements in a new scope that starts with `vars` and the statements `first`.
std::vector<Node> Builder::scope(int n, std::vector<Var> vars, std::vector<Node> first) {
    scopes_.push_back(std::move(vars));
    ++depth_;
    std::vector<Node> out = std::move(first);
    for (int i = 0; i < n && stmts_left_ > 0; ++i) statement(out);
    --depth_;
    scopes_.pop_back();
    return out;
}

// `head {` n statements `}`, or `head` and one unbraced statement.
Node Builder::braced_or_single(const string& head, int n, std::vector<Var> vars) {
    if (has(F::unbraced) && rng_.chance(20) && stmts_left_ > 0) {
        scopes_.push_back(std::move(vars));
        ++depth_;
        std::vector<Node> one;
        if (io() && rng_.chance(70)) suspension(one, true);
        if (one.empty()) update(one);
        --depth_;
        scopes_.pop_back();
        if (one.size() == 1) {
            --stmts_left_;
            return Node{{{head, std::move(one)}}, {}};
        }
        return Node{{{head + " {", std::move(one)}}, "}"};
    }
    return Node{{{head + " {", scope(n, std::move(vars))}}, "}"};
}

void Builder::statement(std::vector<Node>& out) {
    --stmts_left_;
    enum Choice { decl, upd, susp, block, if_, switch_, loop_, jump_, ret, try_, throw_ };
    std::vector<std::pair<Choice, int>> menu{{decl, 20}, {upd, 18}};
    if (io()) menu.push_back({susp, 26});
    const bool room = depth_ < limits_.depth && stmts_left_ > 0;
    const bool any_loop = has(F::for_loops) || has(F::while_loops) || has(F::do_loops) || has(F::range_for);
    if (room && has(F::blocks)) menu.push_back({block, 4});
    if (room && has(F::ifs)) menu.push_back({if_, 10});
    if (room && has(F::switches)) menu.push_back({switch_, 5});
    if (room && any_loop && multiplier_ < max_iterations) menu.push_back({loop_, 11});
    if (breakables_ > 0 && has(F::break_continue)) menu.push_back({jump_, 6});
    if (has(F::early_returns) || (has(F::error_returns) && returns_result())) menu.push_back({ret, 3});
    if (room && io() && has(F::try_catch)) menu.push_back({try_, 4});
    if (io() && kind_ != Kind::main && has(F::try_catch)) menu.push_back({throw_, 3});
    int total = 0;
    for (auto& [c, w] : menu) total += w;
    int r = rng_.below(total);
    Choice choice = decl;
    for (auto& [c, w] : menu) {
        if (r < w) {
            choice = c;
            break;
        }
        r -= w;
    }
    switch (choice) {
    case decl: declaration(out); break;
    case upd: update(out); break;
    case susp:
        if (!suspension(out, false)) update(out);
        break;
    case block: out.push_back(Node{{{"{", scope(k(1, 4))}}, "}"}); break;
    case if_: if_statement(out); break;
    case switch_: switch_statement(out, "", ""); break;
    case loop_: loop(out); break;
    case jump_: jump(out); break;
    case ret: early_return(out); break;
    case try_: {
        // no suspension in the handler
        const int before = ops_used_;
        std::vector<Node> body = scope(k(1, 4));
        // A try without a suspension in a helper's frame does not compile in zsync-gen (zs_resuming is
        // undeclared): a plain block instead, unless try_no_susp
        if (ops_used_ == before && kind_ != Kind::main && !has(F::try_no_susp)) {
            out.push_back(Node{{{"{", std::move(body)}}, "}"});
            break;
        }
        Node n{{{"try {", std::move(body)}}, "}"};
        n.parts.push_back({"} catch (const Thrown& e) {", {line("acc = acc * 31u + static_cast<unsigned>(e.code);")}});
        out.push_back(std::move(n));
        break;
    }
    case throw_: out.push_back(line("if (" + cond() + ") throw Thrown{" + num(1, 9) + "};")); break;
    }
}

void Builder::declaration(std::vector<Node>& out) {
    std::vector<Ty> kinds{Ty::int_};
    if (io()) {
        if (has(F::tracked)) kinds.insert(kinds.end(), {Ty::tracked, Ty::tracked});
        if (has(F::strings)) kinds.push_back(Ty::string);
        if (has(F::vectors)) kinds.push_back(Ty::vec_int);
        if (has(F::vectors) && has(F::tracked)) kinds.push_back(Ty::vec_tracked);
        if (has(F::range_for) || has(F::const_locals)) kinds.push_back(Ty::cvec_int);
        if ((has(F::range_for) || has(F::const_locals)) && has(F::tracked)) kinds.push_back(Ty::cvec_tracked);
        if (has(F::unique_ptrs) && has(F::tracked)) kinds.push_back(Ty::uptr);
        if (has(F::result_helpers)) kinds.push_back(Ty::result_int);
    }
    const Ty ty = rng_.pick(kinds);
    // const locals: `const T x = ...` (const_locals) or `const T x(...)` / `const T x{...}` (const_direct_init)
    const bool constant = has(F::const_locals) && rng_.chance(15) && ty != Ty::cvec_int && ty != Ty::cvec_tracked &&
                          ty != Ty::vec_int && ty != Ty::vec_tracked && ty != Ty::result_int && ty != Ty::uptr;
    const bool direct = has(F::const_direct_init) && rng_.chance(40);
    const string c = constant ? "const " : "";
    switch (ty) {
    case Ty::int_: {
        const string n = fresh("x"), e = "(" + int_expr() + ") % 1009";
        out.push_back(line(c + "int " + n + (constant && direct ? "(" + e + ");" : " = " + e + ";")));
        declare({n, ty, !constant});
        return;
    }
    case Ty::tracked: {
        const string n = fresh("t");
        const Var* from = any_of(Ty::tracked, false);
        string init;
        switch (rng_.below(6)) {
        case 0: init = "(" + num(0, 96) + ")"; break;
        case 1: init = " = Tracked(" + num(0, 96) + ")"; break;
        case 2:
            // Tracked t{... v(h(io, 1)) ...}: zsync-gen leaves the suspending calls of a braced initialiser
            // in the frame (h(/* unused parameter */, ...), a build error), so only with braced_init_expr
            if (!has(F::braced_init_expr)) ++no_susp_;
            init = "{(" + int_expr() + ") % 97}";
            if (!has(F::braced_init_expr)) --no_susp_;
            break;
        case 3: init = from ? " = " + from->name : "(" + num(0, 96) + ")"; break;
        case 4:
            if (from && from->writable) {
                init = " = std::move(" + from->name + ")";
                break;
            }
            [[fallthrough]];
        default: init = has(F::default_init) ? "" : "(" + num(0, 96) + ")"; break;
        }
        if (constant) init = direct ? "(" + num(0, 96) + ")" : " = Tracked(" + num(0, 96) + ")";
        out.push_back(line(c + "Tracked " + n + init + ";"));
        declare({n, ty, !constant});
        return;
    }
    case Ty::string: {
        const string n = fresh("s");
        const Var* from = any_of(Ty::string, false);
        string lit = rng_.chance(50) ? long_strings[rng_.below(2)] : short_strings[rng_.below(4)];
        string init;
        switch (rng_.below(5)) {
        case 0: init = " = \"" + lit + "\""; break;
        case 1: init = from ? " = " + from->name + " + \"-\"" : " = \"" + lit + "\""; break;
        case 2: init = " = std::to_string(" + int_atom() + ")"; break;
        case 3: init = "(" + num(0, 40) + ", 'z')"; break;
        default: init = has(F::default_init) ? "" : " = \"" + lit + "\""; break;
        }
        if (constant) init = direct ? "(\"" + lit + "\")" : " = \"" + lit + "\"";
        out.push_back(line(c + "std::string " + n + init + ";"));
        declare({n, ty, !constant});
        return;
    }
    case Ty::vec_int: {
        const string n = fresh("v");
        const Var* from = any_of(Ty::vec_int, false);
        string init;
        switch (rng_.below(3)) {
        case 0: init = "{" + num(0, 9) + ", " + num(0, 9) + "}"; break;
        case 1: init = from ? " = " + from->name : ""; break;
        default: break;
        }
        out.push_back(line("std::vector<int> " + n + init + ";"));
        declare({n, ty});
        return;
    }
    case Ty::vec_tracked: {
        const string n = fresh("tv");
        out.push_back(line("std::vector<Tracked> " + n + ";"));
        declare({n, ty});
        return;
    }
    case Ty::cvec_int:
    case Ty::cvec_tracked: const_vector(out); return;
    case Ty::uptr: {
        const string n = fresh("p");
        const Var* from = any_of(Ty::uptr, true);
        string init;
        switch (rng_.below(3)) {
        case 0: init = " = std::make_unique<Tracked>(" + num(0, 96) + ")"; break;
        case 1: init = from ? " = std::move(" + from->name + ")" : ""; break;
        default: break;
        }
        out.push_back(line("std::unique_ptr<Tracked> " + n + init + ";"));
        declare({n, ty});
        return;
    }
    case Ty::result_int: {
        const string n = fresh("hr");
        out.push_back(line("Result<int> " + n + " = " + num(0, 9) + ";"));
        declare({n, ty});
        return;
    }
    }
}

// A const std::vector of ints or Tracked with 1 to 4 elements, for range-for (declared in `out`).
const Var* Builder::const_vector(std::vector<Node>& out) {
    const bool tracked = has(F::tracked) && rng_.chance(40);
    const int size = k(1, 4);
    const string n = fresh("c");
    string elems;
    for (int i = 0; i < size; ++i) elems += (i ? ", " : "") + (tracked ? "Tracked(" + num(0, 96) + ")" : num(0, 9));
    const bool direct = has(F::const_direct_init) && rng_.chance(40);
    const string type = tracked ? "const std::vector<Tracked> " : "const std::vector<int> ";
    out.push_back(line(type + n + (direct ? "{" + elems + "};" : " = {" + elems + "};")));
    declare({n, tracked ? Ty::cvec_tracked : Ty::cvec_int, false, size});
    return &scopes_.back().back();
}

void Builder::update(std::vector<Node>& out) {
    auto writable = visible([](const Var& v) { return v.writable; });
    if (writable.empty() || rng_.chance(30)) {
        switch (rng_.below(3)) {
        case 0: out.push_back(line("acc = acc * 31u + static_cast<unsigned>(" + int_expr() + ");")); return;
        case 1: out.push_back(line("acc += static_cast<unsigned>(" + int_atom() + ");")); return;
        default: out.push_back(line("acc ^= static_cast<unsigned>(" + int_expr() + ") << " + num(1, 7) + ";")); return;
        }
    }
    const Var& v = *rng_.pick(writable);
    const string& n = v.name;
    switch (v.ty) {
    case Ty::int_:
        switch (rng_.below(3)) {
        case 0: out.push_back(line(n + " = (" + n + " * " + num(2, 7) + " + " + int_atom() + ") % 1009;")); return;
        case 1: out.push_back(line(n + " = (" + int_expr() + ") % 1009;")); return;
        default: out.push_back(line("++" + n + ";")); return;
        }
    case Ty::tracked: {
        const Var* other = any_of(Ty::tracked, false);
        switch (rng_.below(4)) {
        case 0:
            if (other && other->name != n) {
                out.push_back(line(n + " = " + other->name + ";"));
                return;
            }
            break;
        case 1: out.push_back(line(n + " = Tracked(" + num(0, 96) + ");")); return;
        case 2:
            if (other && other->name != n && other->writable) {
                out.push_back(line(n + " = std::move(" + other->name + ");"));
                return;
            }
            break;
        default: break;
        }
        out.push_back(line(n + ".set((" + n + ".value() * 3 + " + int_atom() + ") % 97);"));
        return;
    }
    case Ty::string:
        switch (rng_.below(4)) {
        case 0: out.push_back(line(n + " += \"" + string(short_strings[rng_.below(4)]) + "\";")); return;
        case 1: out.push_back(line(n + " += std::to_string(" + int_atom() + ");")); return;
        case 2: out.push_back(line(n + " = \"" + string(long_strings[rng_.below(2)]) + "\";")); return;
        default: out.push_back(line(n + ".append(" + num(1, 20) + ", 'q');")); return;
        }
    case Ty::vec_int:
        if (rng_.chance(25)) out.push_back(line("if (!" + n + ".empty()) " + n + ".pop_back();"));
        else out.push_back(line(n + ".push_back((" + int_expr() + ") % 1009);"));
        return;
    case Ty::vec_tracked: {
        const Var* t = any_of(Ty::tracked, false);
        const int r = rng_.below(4);
        if (r == 0) out.push_back(line("if (!" + n + ".empty()) " + n + ".pop_back();"));
        else if (r == 1 && t) out.push_back(line(n + ".push_back(" + t->name + ");"));
        else out.push_back(line(n + ".emplace_back(" + num(0, 96) + ");"));
        return;
    }
    case Ty::uptr:
        switch (rng_.below(3)) {
        case 0: out.push_back(line(n + " = std::make_unique<Tracked>(" + num(0, 96) + ");")); return;
        case 1: out.push_back(line(n + ".reset();")); return;
        default:
            // no suspending call in p->set(...): zsync-gen takes p.operator-> for an effectful class-type
            // value computed before the suspension (report of this change)
            ++no_susp_;
            out.push_back(line("if (" + n + ") " + n + "->set((" + int_atom() + ") % 97);"));
            --no_susp_;
            return;
        }
    case Ty::result_int: out.push_back(line(n + " = (" + int_expr() + ") % 1009;")); return;
    case Ty::cvec_int:
    case Ty::cvec_tracked: break;
    }
    out.push_back(line("acc += 1u;"));
}

// A suspending statement (or, with `single`, exactly one node that declares nothing, for an unbraced
// body). False when nothing fits the budget or the scope.
bool Builder::suspension(std::vector<Node>& out, bool single) {
    std::vector<std::pair<int, Emit>> options;  // cost, emitter
    const bool room = !single && depth_ < limits_.depth && stmts_left_ > 0;
    if (has(F::leaves)) {
        options.push_back({1, [this](std::vector<Node>& o) {
                               const string r = fresh("r");
                               o.push_back(line("if (auto " + r + " = " + leaf() + "; !" + r + ") " + on_error(r)));
                           }});
        if (!single)
            options.push_back({1, [this](std::vector<Node>& o) {
                                   const string r = fresh("r");
                                   o.push_back(line("auto " + r + " = " + leaf() + ";"));
                                   o.push_back(line("if (!" + r + ") " + on_error(r)));
                               }});
        if (room && has(F::init_statements)) {
            options.push_back({1, [this](std::vector<Node>& o) {
                                   const string r = fresh("r");
                                   const string head = rng_.chance(50) ? "if (auto " + r + " = " + leaf() + "; " + r + ") {"
                                                                       : "if (auto " + r + " = " + leaf() + ") {";
                                   std::vector<Node> then = scope(k(1, 3));
                                   o.push_back(Node{{{head, std::move(then)}, {"} else {", {line(on_error(r))}}}, "}"});
                               }});
            if (has(F::switches))
                options.push_back({1, [this](std::vector<Node>& o) {
                                       const string r = fresh("r");
                                       switch_statement(o, "auto " + r + " = " + leaf() + "; ", r);
                                   }});
            if (has(F::for_loops) && multiplier_ < max_iterations)
                options.push_back({1, [this](std::vector<Node>& o) {
                                       const string r = fresh("r"), i = fresh("i");
                                       const int n = loop_bound_iterations();
                                       o.push_back(line("int " + i + " = 0;"));
                                       declare({i, Ty::int_, false});
                                       const string head = "for (auto " + r + " = " + leaf() + "; " + i + " < " + counted(n + 1, [&] { return loop_bound(n); }) +
                                                           "; ++" + i + ") {";
                                       std::vector<Node> body = in_loop(n, [&] {
                                           return scope(k(1, 3), {}, {line("if (!" + r + ") " + on_error(r))});
                                       });
                                       o.push_back(Node{{{head, std::move(body)}}, "}"});
                                   }});
        }
    }
    for (const Callee& c : callees_) {
        if (c.kind == Kind::pure) continue;
        bool ok = false;
        ++no_susp_;
        (void)call_args(c, &ok);  // can this scope provide the arguments?
        --no_susp_;
        if (!ok) continue;
        auto call = [this, &c] {
            bool fine = false;
            return callee_call(c, &fine);
        };
        auto add = [&](Emit e) { options.push_back({c.cost, std::move(e)}); };
        switch (c.kind) {
        case Kind::result:
            if (!single) {
                add([this, call](std::vector<Node>& o) {
                    const string v = fresh("hv");
                    o.push_back(line((rng_.chance(50) ? "auto " : "Result<int> ") + v + " = " + call() + ";"));
                    o.push_back(line("if (!" + v + ") " + on_error(v)));
                    declare({v, Ty::result_int});
                });
                if (any_of(Ty::result_int, true))
                    add([this, call](std::vector<Node>& o) {
                        const string v = any_of(Ty::result_int, true)->name;
                        o.push_back(line(v + " = " + call() + ";"));
                        o.push_back(line("if (!" + v + ") " + on_error(v)));
                    });
            }
            if (has(F::init_statements))
                add([this, call](std::vector<Node>& o) {
                    const string v = fresh("hv");
                    o.push_back(line("if (auto " + v + " = " + call() + "; !" + v + ") " + on_error(v) +
                                     " else acc = acc * 31u + static_cast<unsigned>(*" + v + ");"));
                });
            if (has(F::discarded)) add([call](std::vector<Node>& o) { o.push_back(line("(void)" + call() + ";")); });
            break;
        case Kind::integer:
            if (!single)
                add([this, call](std::vector<Node>& o) {
                    const string x = fresh("x");
                    o.push_back(line("int " + x + " = " + call() + ";"));
                    declare({x, Ty::int_});
                });
            if (any_of(Ty::int_, true))
                add([this, call](std::vector<Node>& o) {
                    const string x = any_of(Ty::int_, true)->name;
                    o.push_back(line(x + (rng_.chance(50) ? " = " : " += ") + call() + ";"));
                });
            add([call](std::vector<Node>& o) { o.push_back(line("acc += " + call() + ";")); });
            if (has(F::discarded)) add([call](std::vector<Node>& o) { o.push_back(line(call() + ";")); });
            break;
        case Kind::void_ref: add([call](std::vector<Node>& o) { o.push_back(line(call() + ";")); }); break;
        case Kind::tracked:
            if (!single)
                add([this, call](std::vector<Node>& o) {
                    const string t = fresh("t");
                    o.push_back(line("Tracked " + t + " = " + call() + ";"));
                    declare({t, Ty::tracked});
                });
            if (any_of(Ty::tracked, true))
                add([this, call](std::vector<Node>& o) {
                    const string t = any_of(Ty::tracked, true)->name;
                    o.push_back(line(t + " = " + call() + ";"));
                });
            if (has(F::discarded)) add([call](std::vector<Node>& o) { o.push_back(line(call() + ";")); });
            break;
        case Kind::main:
        case Kind::pure: break;
        }
    }
    std::vector<std::pair<int, Emit>*> fitting;
    for (auto& o : options)
        if (fits(o.first)) fitting.push_back(&o);
    if (fitting.empty()) return false;
    auto& [cost, emit] = *rng_.pick(fitting);
    spend(cost);  // before the nested statements of the chosen form take their own share
    emit(out);
    return true;
}

void Builder::if_statement(std::vector<Node>& out) {
    if (rng_.chance(35)) {
        out.push_back(braced_or_single("if (" + cond() + ")", k(1, 3)));
        return;
    }
    Node n{{{"if (" + cond() + ") {", scope(k(1, 3))}}, "}"};
    if (rng_.chance(25)) n.parts.push_back({"} else if (" + cond() + ") {", scope(k(1, 2))});
    if (rng_.chance(60)) n.parts.push_back({"} else {", scope(k(1, 3))});
    out.push_back(std::move(n));
}

// switch (expr % m), or with a suspending init (`init` declares `result`, whose error is case -1).
void Builder::switch_statement(std::vector<Node>& out, const string& init, const string& result) {
    const int m = k(2, 4);
    // With an init, -1 means its error: the value must not be negative then.
    const string value = init.empty() ? "(" + int_expr() + ") % " + to_string(m)
                                      : "((" + int_expr() + ") % " + to_string(m) + " + " + to_string(m) + ") % " + to_string(m);
    const string head = init.empty() ? "switch (" + value + ") {" : "switch (" + init + result + " ? " + value + " : -1) {";
    std::vector<int> labels;
    for (int v = 0; v < m; ++v)
        if (rng_.chance(60)) labels.push_back(v);
    if (rng_.chance(50) || labels.empty()) labels.push_back(-2);  // default
    for (std::size_t i = labels.size(); i > 1; --i) std::swap(labels[i - 1], labels[static_cast<std::size_t>(rng_.below(static_cast<int>(i)))]);
    std::vector<Node> cases;
    if (!init.empty()) cases.push_back(Node{{{"case -1:", {line(on_error(result))}}}, {}});
    ++breakables_;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const string label = labels[i] == -2 ? "default:" : "case " + to_string(labels[i]) + ":";
        cases.push_back(Node{{{label + " {", scope(k(0, 3))}}, "}"});
        const bool last = i + 1 == labels.size();
        if (!last && rng_.chance(30)) cases.push_back(line("[[fallthrough]];"));
        else if (!last || rng_.chance(50)) cases.push_back(line("break;"));
    }
    --breakables_;
    out.push_back(Node{{{head, std::move(cases)}}, "}"});
}

void Builder::loop(std::vector<Node>& out) {
    std::vector<int> forms;
    if (has(F::for_loops)) forms.push_back(0);
    if (has(F::while_loops)) forms.insert(forms.end(), {1, 2});
    if (has(F::do_loops)) forms.push_back(3);
    if (has(F::range_for) && io()) forms.push_back(4);
    if (forms.empty()) return;
    const int n = loop_bound_iterations();
    switch (rng_.pick(forms)) {
    case 0: {
        const string i = fresh("i");
        const string head = "for (int " + i + " = 0; " + i + " < " + counted(n + 1, [&] { return loop_bound(n); }) + "; ++" + i + ")";
        out.push_back(in_loop(n, [&] { return braced_or_single(head, k(1, 4), {{i, Ty::int_, false}}); }));
        return;
    }
    case 1: {
        const string w = fresh("w");
        out.push_back(line("int " + w + " = 0;"));
        declare({w, Ty::int_, false});
        // the counter first, so that a suspending call after && runs at most n + 1 times
        const string head = "while (" + w + " < " + counted(n + 1, [&] { return loop_bound(n); }) +
                            (susp_ok() && rng_.chance(40) ? counted(n + 1, [&] { return " && " + susp_atom() + " >= " + num(-3, 2); }) : string()) +
                            ") {";
        out.push_back(Node{{{head, in_loop(n, [&] { return scope(k(1, 4), {}, {line("++" + w + ";")}); })}}, "}"});
        return;
    }
    case 2: {
        const string w = fresh("w");
        out.push_back(line("int " + w + " = 0;"));
        declare({w, Ty::int_, false});
        const string stop = "if (" + w + " >= " + counted(n + 1, [&] { return loop_bound(n); }) + ") break;";
        out.push_back(Node{{{"while (true) {", in_loop(n, [&] { return scope(k(1, 4), {}, {line(stop), line("++" + w + ";")}); })}}, "}"});
        return;
    }
    case 3: {
        const string d = fresh("d");
        out.push_back(line("int " + d + " = 0;"));
        declare({d, Ty::int_, false});
        std::vector<Node> body = in_loop(n, [&] { return scope(k(1, 4), {}, {line("++" + d + ";")}); });
        const string more = counted(n, [&] {
            return loop_bound(n) + (susp_ok() && rng_.chance(40) ? " && " + susp_atom() + " >= " + num(-3, 2) : string());
        });
        out.push_back(Node{{{"do {", std::move(body)}}, "} while (" + d + " < " + more + ");"});
        return;
    }
    default: {
        auto vectors = visible([](const Var& v) { return v.ty == Ty::cvec_int || v.ty == Ty::cvec_tracked; });
        const Var* c = vectors.empty() || rng_.chance(30) ? const_vector(out) : rng_.pick(vectors);
        const string e = fresh("e"), name = c->name;
        const int size = c->size;
        Var var{e, c->ty == Ty::cvec_int ? Ty::int_ : Ty::tracked, false};
        string decl;
        if (c->ty == Ty::cvec_int) {
            const char* forms[] = {"int ", "const int& ", "auto "};
            decl = forms[rng_.below(3)];
        } else {
            const int r = rng_.below(3);
            decl = r == 0 ? "const Tracked& " : r == 1 ? "auto& " : "Tracked ";
            var.writable = r == 2;  // a copy of its own
        }
        const string head = "for (" + decl + e + " : " + name + ")";
        out.push_back(in_loop(size, [&] { return braced_or_single(head, k(1, 4), {var}); }));
        return;
    }
    }
}

void Builder::jump(std::vector<Node>& out) {
    const bool cont = loops_ > 0 && rng_.chance(40);
    out.push_back(line("if (" + cond() + ") " + (cont ? "continue;" : "break;")));
}

void Builder::early_return(std::vector<Node>& out) {
    const bool error = has(F::error_returns) && returns_result() && (!has(F::early_returns) || rng_.chance(35));
    if (!error && !has(F::early_returns)) return update(out);
    const string r = error ? error_return() : value_return();
    if (rng_.chance(30)) out.push_back(Node{{{"if (" + cond() + ") {", {line(r)}}}, "}"});
    else out.push_back(line("if (" + cond() + ") " + r));
}

}  // namespace

Program generate_program(std::uint64_t seed, int index, const FeatureSet& features) {
    Rng rng(seed);
    Program p;
    p.index = index;
    p.seed = seed;
    p.arg = rng.between(0, 9);
    const string id = to_string(index);

    std::vector<Kind> kinds;
    if (features.has(F::result_helpers)) kinds.insert(kinds.end(), {Kind::result, Kind::result});
    if (features.has(F::int_helpers)) kinds.push_back(Kind::integer);
    if (features.has(F::void_helpers)) kinds.push_back(Kind::void_ref);
    if (features.has(F::tracked_helpers) && features.has(F::tracked)) kinds.push_back(Kind::tracked);
    if (features.has(F::pure_helpers)) kinds.push_back(Kind::pure);

    std::vector<Callee> callees;
    const int helpers = kinds.empty() ? 0 : rng.between(0, 3);
    for (int j = 0; j < helpers; ++j) {
        Callee c;
        c.kind = rng.pick(kinds);
        c.name = (c.kind == Kind::pure ? "f" : "h") + id + "_" + to_string(j);
        const bool value_kind = c.kind == Kind::result || c.kind == Kind::integer;
        c.string_param = value_kind && features.has(F::string_params) && features.has(F::strings) && rng.chance(30);
        c.tracked_param = value_kind && features.has(F::tracked_params) && features.has(F::tracked) && rng.chance(30);
        const bool nrvo = c.kind == Kind::tracked && rng.chance(70);

        std::vector<Var> params;
        string sig;
        switch (c.kind) {
        case Kind::pure:
            sig = "int " + c.name + "(int a)";
            params.push_back({"a", Ty::int_});
            break;
        case Kind::void_ref:
            sig = "void " + c.name + "(Io io, int& out)";
            params.push_back({"out", Ty::int_});
            break;
        default: {
            sig = string(c.kind == Kind::result ? "Result<int> " : c.kind == Kind::integer ? "int " : "Tracked ") + c.name + "(Io io";
            if (c.string_param) {
                sig += ", const std::string& s";
                params.push_back({"s", Ty::string, false});
            }
            if (c.tracked_param) {
                sig += ", Tracked t";
                params.push_back({"t", Ty::tracked});
            }
            sig += ", int a)";
            params.push_back({"a", Ty::int_});
            break;
        }
        }
        // A pure helper sees only the pure helpers before it; the others see every helper before them.
        std::vector<Callee> visible;
        for (const Callee& d : callees)
            if (c.kind != Kind::pure || d.kind == Kind::pure) visible.push_back(d);
        Builder b(rng, features, std::move(visible), c.kind, Limits{rng.between(1, 8), 2, c.kind == Kind::pure ? 0 : rng.between(1, 6)},
                  nrvo);
        Function f;
        f.signature = sig;
        f.body = b.body(std::move(params));
        f.max_ops = c.cost = b.ops_used();
        p.helpers.push_back(std::move(f));
        callees.push_back(std::move(c));
    }

    Builder b(rng, features, callees, Kind::main, Limits{rng.between(6, 28), 4, 40}, false);
    p.main.signature = "Result<int> p_" + id + "(Io io, int arg)";
    p.main.annotated = true;
    p.main.body = b.body({{"arg", Ty::int_}});
    p.main.max_ops = b.ops_used();
    return p;
}

}  // namespace pgen
