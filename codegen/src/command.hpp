// The compile command zsync-gen receives as a compiler launcher, and the one it runs instead.
#pragma once
#include <string>
#include <vector>

namespace zsync_gen {

struct CompileCommand {
    std::vector<std::string> args;  // compiler first; response files expanded
    std::string source;             // absolute path of the file after -c
    std::size_t source_index = 0;   // its position in args
    std::string object;             // the -o argument (relative to the working directory)
    bool ok = false;
    std::string error;
};

CompileCommand parse_command(const std::vector<std::string>& raw);

}  // namespace zsync_gen
