// Runs one random program of random_table.cpp (written by program_gen) through the differential harness
// as plain code and as its frame, under every fault and destroyed at every suspension point; on any
// difference the test fails with the program's seed and the commands that reproduce it.
#pragma once
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include "differential.hpp"
#include "tracked.hpp"
import zsync;

namespace gen_random {

// What program_gen was asked for (the same in every test of one build).
struct Run {
    std::uint64_t base_seed;
    int count;
    int only;  // the one program of a --only build, or -1
    const char* features;
};

// The failure report: seeds, the harness's verdicts, how to reproduce, and the traces of the first run
// that differs. Printed to stderr in full (Catch wraps its own messages at 80 columns).
std::string failure(const Run& run, int index, int arg, const std::string& differential, const std::string& destroyed,
                    const std::string& traces);

// Both runs of the first fault whose outcomes differ, side by side (for the report); "" when none does.
std::string side_by_side(const std::string& where, const gen_test::Outcome& plain, const gen_test::Outcome& frame);

template <auto F>
std::string first_difference(zsync::Io io, int arg) {
    using gen_test::Fault;
    const std::uint64_t n = gen_test::run_plain<F>(io, Fault::none, 0, arg).ops.size();
    for (std::uint64_t k = 0; k <= n; ++k)
        for (Fault f : {Fault::fail, Fault::cancel}) {
            if (k == 0 && f == Fault::cancel) continue;
            const std::string where = k == 0 ? "no fault" : (f == Fault::fail ? "operation " : "cancel at operation ") + std::to_string(k);
            const gen_test::Outcome p = gen_test::run_plain<F>(io, k ? f : Fault::none, k, arg);
            const gen_test::Outcome q = gen_test::run_frame<F>(io, k ? f : Fault::none, k, gen_test::FrameIo::isolated, arg);
            if (!gen_test::compare(p, q, where).empty()) return side_by_side(where, p, q);
        }
    return {};
}

// `max_ops` is program_gen's bound on the Operations of one run: checked too, so a generator that lets
// programs grow unbounded is noticed.
template <auto F>
void check(const Run& run, int index, int arg, int max_ops) {
    zsync::BlockingIo rt;
    CHECK(gen_test::run_plain<F>(rt.io(), gen_test::Fault::none, 0, arg).ops.size() <= static_cast<std::size_t>(max_ops));
    const std::string differential = gen_test::differential<F>(rt.io(), arg);
    const std::string destroyed = gen_test::destroy_at_every_point<F>(rt.io(), arg);
    if (!differential.empty() || !destroyed.empty()) {
        const std::string traces = differential.empty() ? std::string() : first_difference<F>(rt.io(), arg);
        FAIL("random program " << index << " (seed " << run.base_seed + static_cast<std::uint64_t>(index) << "): "
                               << failure(run, index, arg, differential, destroyed, traces));
    }
    CHECK(gen_test::events.live == 0);
}

}  // namespace gen_random
