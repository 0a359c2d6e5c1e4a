#include "command.hpp"
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/StringSaver.h>

namespace zsync_gen {

CompileCommand parse_command(const std::vector<std::string>& raw) {
    CompileCommand c;
    if (raw.empty()) {
        c.error = "no compile command after '--'";
        return c;
    }
    llvm::BumpPtrAllocator alloc;
    llvm::StringSaver saver(alloc);
    llvm::SmallVector<const char*, 64> argv;
    for (const std::string& a : raw) argv.push_back(saver.save(a).data());
    // CMake hands module maps over as @file response files (-fmodule-file=NAME=path.pcm).
    if (!llvm::cl::ExpandResponseFiles(saver, llvm::cl::TokenizeGNUCommandLine, argv)) {
        c.error = "cannot read a response file of the compile command";
        return c;
    }
    for (const char* a : argv) c.args.emplace_back(a);
    for (std::size_t i = 1; i < c.args.size(); ++i) {
        if (c.args[i] == "-o" && i + 1 < c.args.size()) c.object = c.args[i + 1];
        if (c.args[i] == "-c" && i + 1 < c.args.size()) c.source_index = i + 1;
    }
    if (!c.source_index) {
        c.error = "the compile command has no '-c <source>'";
        return c;
    }
    llvm::SmallString<256> abs(c.args[c.source_index]);
    llvm::sys::fs::make_absolute(abs);
    llvm::sys::path::remove_dots(abs, true);
    c.source = std::string(abs);
    c.ok = true;
    return c;
}

}  // namespace zsync_gen
