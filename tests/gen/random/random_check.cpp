#include "random_check.hpp"

#include <algorithm>
#include <cstdio>

#ifndef ZSYNC_GEN_RANDOM_BINARY_DIR
#define ZSYNC_GEN_RANDOM_BINARY_DIR "<build dir>"
#endif
#ifndef ZSYNC_GEN_RANDOM_PROGRAM_GEN
#define ZSYNC_GEN_RANDOM_PROGRAM_GEN "program_gen"
#endif

namespace gen_random {

std::string side_by_side(const std::string& where, const gen_test::Outcome& plain, const gen_test::Outcome& frame) {
    std::string s = "first run that differs (" + where + "), plain | frame:\n";
    s += "  result      " + plain.result + " | " + frame.result + "\n";
    s += "  operations  " + gen_test::ops_text(plain.ops) + "| " + gen_test::ops_text(frame.ops) + "\n";
    const std::size_t n = std::max(plain.events.size(), frame.events.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::string a = i < plain.events.size() ? plain.events[i] : "";
        const std::string b = i < frame.events.size() ? frame.events[i] : "";
        const bool same = a == b && i < plain.events.size() && i < frame.events.size();
        a.resize(std::max<std::size_t>(a.size(), 28), ' ');
        s += "  " + std::string(same ? " " : "*") + " #" + std::to_string(i) + (i < 10 ? "  " : " ") + a + " | " + b + "\n";
    }
    return s;
}

std::string failure(const Run& run, int index, int arg, const std::string& differential, const std::string& destroyed,
                    const std::string& traces) {
    const std::string i = std::to_string(index), base = std::to_string(run.base_seed);
    const std::string dir = ZSYNC_GEN_RANDOM_BINARY_DIR;
    const std::string configure = "cmake -B " + dir + " -DZSYNC_GEN_RANDOM_SEED=" + base + " -DZSYNC_GEN_RANDOM_FEATURES=" + run.features;
    const std::string build_and_test = " && cmake --build " + dir + " --target gen_random_tests && ctest --test-dir " + dir +
                                       " -R 'gen\\.random\\.p_" + i + " '";
    std::string m = "random program " + i + " behaves differently as its frame\n";
    m += "  program seed " + std::to_string(run.base_seed + static_cast<std::uint64_t>(index)) + " = base seed " + base + " + index " + i +
         ", arg " + std::to_string(arg) + ", features " + run.features + "\n";
    m += "  differential (every fault at every operation): " + (differential.empty() ? std::string("equal") : differential) + "\n";
    m += "  destroyed at every suspension point: " + (destroyed.empty() ? std::string("fine") : destroyed) + "\n";
    m += "reproduce, among all " + std::to_string(run.count) + " programs:\n  " + configure +
         " -DZSYNC_GEN_RANDOM_COUNT=" + std::to_string(run.count) + " -DZSYNC_GEN_RANDOM_ONLY=" + build_and_test + "\n";
    m += "reproduce, alone:\n  " + configure + " -DZSYNC_GEN_RANDOM_ONLY=" + i + build_and_test + "\n";
    m += "its source (then see <dir>/random_programs.cpp):\n  " + std::string(ZSYNC_GEN_RANDOM_PROGRAM_GEN) + " --seed " + base +
         " --only " + i + " --features " + run.features + " --out-dir <dir>\n";
    if (run.only >= 0) m += "(this build has program " + std::to_string(run.only) + " only: ZSYNC_GEN_RANDOM_ONLY)\n";
    m += traces;
    std::fprintf(stderr, "%s", m.c_str());
    return differential.empty() ? destroyed : differential;
}

}  // namespace gen_random
