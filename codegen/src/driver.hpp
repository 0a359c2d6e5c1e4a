// One translation unit through the passes and the printer: the generated file's text, or diagnostics.
#pragma once
#include <string>
#include <vector>
#include "context.hpp"

namespace zsync_gen {

struct GenerateResult {
    bool parsed = false;         // clang accepted the source
    bool ok = false;             // parsed and no zsync-gen diagnostic
    std::string output;          // the original text plus the frames (valid when ok)
    std::string report;          // frame sizes and layouts
    std::string diagnostics;     // rendered zsync-gen diagnostics
    int frames = 0;
};

// `command` is a full compile command (compiler first, response files expanded).
GenerateResult generate(const std::vector<std::string>& command, const std::string& source, const Options& options);

}  // namespace zsync_gen
