// The text program_gen writes: the random programs (compiled through zsync-gen), their declarations,
// and the Catch2 table that runs each through the differential harness.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "model.hpp"

namespace pgen {

// How the programs were asked for, repeated in every file and in each failure message.
struct Run {
    std::uint64_t base_seed = 0;
    int count = 0;
    int only = -1;  // --only I, or -1
    std::string features;
};

std::string print_programs(const std::vector<Program>& programs, const Run& run);
std::string print_declarations(const std::vector<Program>& programs, const Run& run);
std::string print_table(const std::vector<Program>& programs, const Run& run);

}  // namespace pgen
