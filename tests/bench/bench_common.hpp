// Shared helpers of the benchmark programs: argument parsing, a clock, medians, and the output format.
//
// The programs print figures; they never decide pass/fail on timing (run_benchmarks.sh compares the
// figures with the goals). Every figure line has the form
//   figure <name> <value> [<unit>] [key=value ...]
// so that the driver and the smoke tests can pick them out.
//
// Instruction counts come from callgrind: the measured loops are `extern "C"` functions named
// zsync_bench_*; the driver runs a mode under
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='zsync_bench_*'
// so that only the loop itself (and everything it calls) is counted, never setup or printing.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct Args {
    int argc;
    char** argv;

    // The value after `--name`, or `fallback`.
    std::string_view get(std::string_view name, std::string_view fallback) const {
        for (int i = 1; i + 1 < argc; ++i)
            if (argv[i] == name) return argv[i + 1];
        return fallback;
    }
    std::uint64_t num(std::string_view name, std::uint64_t fallback) const {
        std::string_view v = get(name, {});
        if (v.empty()) return fallback;
        char* end = nullptr;
        std::string s(v);
        unsigned long long n = std::strtoull(s.c_str(), &end, 10);
        if (!end || *end != 0) {
            std::fprintf(stderr, "bad number for %.*s: %s\n", int(name.size()), name.data(), s.c_str());
            std::exit(2);
        }
        return n;
    }
};

inline double now_ns() {
    return double(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

struct Summary {
    double median, min, max;
};

inline Summary summarize(std::vector<double> v) {
    if (v.empty()) return {0, 0, 0};
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {med, v.front(), v.back()};
}

// "figure <name> <median> <unit> min=<min> max=<max> runs=<n>"
inline void print_summary(const char* name, const char* unit, const std::vector<double>& samples) {
    Summary s = summarize(samples);
    std::printf("figure %s %.3f %s min=%.3f max=%.3f runs=%zu\n", name, s.median, unit, s.min, s.max, samples.size());
}

[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "error: %s (%s)\n", what, std::strerror(errno));
    std::exit(1);
}

// Keeps a value alive without costing an instruction (the compiler must assume it is used).
template <class T>
inline void keep(const T& v) {
    asm volatile("" : : "r"(v) : "memory");
}

}  // namespace bench
