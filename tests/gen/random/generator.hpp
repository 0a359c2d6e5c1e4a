// Builds one random program from its seed: a few helper functions and p_<index>, the annotated
// function the table runs through the differential harness. Deterministic: the same seed and features
// give the same program, whatever else is generated with it.
#pragma once
#include <cstdint>
#include "features.hpp"
#include "model.hpp"

namespace pgen {

Program generate_program(std::uint64_t seed, int index, const FeatureSet& features);

}  // namespace pgen
