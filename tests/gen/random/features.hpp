// What program_gen may put in a random program, as a list of named features (--features). Part 1 of
// zsync-gen (suspension at statement level) is the group `statements`, the default; the constructs of
// part 2 have their names here already, so that switching them on later is one word on the command line
// (ZSYNC_GEN_RANDOM_FEATURES in CMake) once the generator emits them.
#pragma once
#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>

namespace pgen {

// ZSYNC_RANDOM_FEATURE(id, part, generated, what a program may contain)
//   part: 1 = what zsync-gen part 1 supports (group `statements`), 2 = part 2 (group `part2`).
//   generated: false while program_gen cannot emit it yet (asking for it is an error, not a no-op).
#define ZSYNC_RANDOM_FEATURES(X)                                                                                     \
    X(blocks, 1, true, "nested { } blocks")                                                                         \
    X(ifs, 1, true, "if / else if / else")                                                                          \
    X(switches, 1, true, "switch with case, default, break and [[fallthrough]]")                                    \
    X(for_loops, 1, true, "for loops (at most 4 iterations)")                                                       \
    X(while_loops, 1, true, "while (cond) and while (true) with a break")                                           \
    X(do_loops, 1, true, "do ... while")                                                                            \
    X(range_for, 1, true, "range-for over a const std::vector of int or Tracked, by value and by reference")       \
    X(break_continue, 1, true, "break and continue inside loops and switches")                                      \
    X(early_returns, 1, true, "returns in the middle of a function (values, and a helper's result)")               \
    X(error_returns, 1, true, "returns of a zsync::Error the program makes itself")                                 \
    X(tracked, 1, true, "gen_test::Tracked locals: made, copied, moved, assigned, some alive across suspensions")   \
    X(strings, 1, true, "std::string locals, short and heap-allocated")                                             \
    X(vectors, 1, true, "std::vector<int> and std::vector<Tracked> locals")                                         \
    X(unique_ptrs, 1, true, "std::unique_ptr<Tracked> locals")                                                      \
    X(const_locals, 1, true, "const locals initialised with =")                                                     \
    X(const_direct_init, 1, true, "const locals initialised with (...) or {...}")                                   \
    X(default_init, 1, true, "Tracked and std::string locals declared without an initialiser: Tracked t;")         \
    X(leaves, 1, true, "io.yield() and io.sleep(0ms), each a statement of its own")                                 \
    X(init_statements, 1, true, "suspending init-statements and condition variables of if, switch and for")         \
    X(result_helpers, 1, true, "helpers returning Result<int> (embedded frames), called as x = h(...) or T x = ...") \
    X(int_helpers, 1, true, "suspending helpers returning int: x = h(...), x += h(...), int x = h(...)")             \
    X(void_helpers, 1, true, "suspending void helpers with an int& parameter")                                      \
    X(tracked_helpers, 1, true, "suspending helpers returning Tracked (named return value)")                        \
    X(pure_helpers, 1, true, "helpers that do not suspend, called inside expressions")                              \
    X(string_params, 1, true, "suspending helpers taking const std::string& (a local of the caller)")               \
    X(tracked_params, 1, true, "suspending helpers taking Tracked by value")                                         \
    X(unbraced, 1, true, "a suspending statement as the unbraced body of an if or a loop")                          \
    X(discarded, 1, true, "suspending calls whose result is discarded: h(...); and (void)h(...);")                  \
    X(expressions, 2, true, "suspending calls inside operands, arguments (nested), conditions, initialisers, returns")     \
    X(braced_init_expr, 2, true, "suspending calls in the {...} initialiser of a Tracked local (not in the default set)") \
    X(multi_decl, 2, false, "several variables with suspending initialisers in one declaration")                    \
    X(temporaries, 2, false, "temporaries bound to references across suspensions")                                  \
    X(try_catch, 2, true, "try/catch around suspending statements; helpers throw Thrown{n} (not by default)")                                                \
    X(try_no_susp, 2, true, "with try_catch: a try without a suspension inside a helper (not by default)")           \
    X(members, 2, false, "member functions that suspend")

enum class Feature : std::size_t {
#define ZSYNC_RANDOM_FEATURE_ID(id, part, generated, what) id,
    ZSYNC_RANDOM_FEATURES(ZSYNC_RANDOM_FEATURE_ID)
#undef ZSYNC_RANDOM_FEATURE_ID
        count_
};

class FeatureSet {
public:
    bool has(Feature f) const { return bits_.test(static_cast<std::size_t>(f)); }
    void set(Feature f, bool on) { bits_.set(static_cast<std::size_t>(f), on); }
    // The features switched on, as a list parse_features reads back: "statements", "statements,-switches".
    std::string names() const;

private:
    std::bitset<static_cast<std::size_t>(Feature::count_)> bits_;
};

// Parses a comma-separated list of feature names and groups (`statements`, `part2`, `all`, `none`);
// `-name` switches a feature or group off again, applied in order: "statements,-switches".
// Returns false and sets `error` on an unknown name or a feature that is not generated yet.
bool parse_features(std::string_view spec, FeatureSet& out, std::string& error);

// One line per feature, for --help.
std::string feature_help();

}  // namespace pgen
