// zsync-gen: makes stackless frames of annotated plain functions (DESIGN.md §5, docs/generator.md).
//
//   zsync-gen [options] -- <compiler> <args...> -c <source> -o <object>
//       As a compiler launcher (zsync_stackless() in CMake): a source with a zsync annotation is
//       parsed with exactly this command; its frames are appended after the functions they belong to in
//       a copy (<object>.zsync.cpp, rewritten only when it changes), which is compiled instead; the frame
//       report and the generator's time go to <object>.zsync.txt. Other sources compile untouched.
//   zsync-gen --emit=<file> [options] -- <compile command>
//       Writes the generated source to <file> (or "-" for stdout) and compiles nothing (golden tests).
//   Options: --plant-bug=N (1 drop a destructor, 2 swap two suspending calls, 3 evaluate the skipped
//   side of &&; for the harness's own tests), --report=<file>.
//
// Errors (the source does not parse, a construct zsync-gen does not support, a missing module file:
// clang's own error names it with file:line:column) exit non-zero with diagnostics, and leave no
// generated file behind.
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include "command.hpp"
#include "driver.hpp"

namespace {

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

// Writes atomically (temp file + rename), and not at all when the content is already there: an
// unchanged input leaves the generated file's time alone.
bool write_if_changed(const std::string& path, const std::string& text) {
    std::string old;
    if (read_file(path, old) && old == text) return true;
    const std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return false;
        out << text;
        if (!out.flush()) return false;
    }
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

[[noreturn]] void exec(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "zsync-gen: cannot run the compiler '%s': %s\n", argv[0], std::strerror(errno));
    std::exit(127);
}

int usage(const char* why) {
    std::fprintf(stderr, "zsync-gen: %s\nusage: zsync-gen [--emit=FILE] [--report=FILE] [--plant-bug=N] -- <compiler> <args...>\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    zsync_gen::Options options;
    std::string emit, report_path;
    std::vector<std::string> raw;
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") { ++i; break; }
        if (a.rfind("--emit=", 0) == 0) emit = a.substr(7);
        else if (a.rfind("--report=", 0) == 0) report_path = a.substr(9);
        else if (a.rfind("--plant-bug=", 0) == 0) {
            const std::string n = a.substr(12);
            if (n != "0" && n != "1" && n != "2" && n != "3") return usage(("unknown --plant-bug value '" + n + "' (0-3)").c_str());
            options.plant = static_cast<zsync_gen::PlantedBug>(std::stoi(n));
        } else return usage(("unknown option '" + a + "'").c_str());
    }
    for (; i < argc; ++i) raw.emplace_back(argv[i]);
    zsync_gen::CompileCommand cmd = zsync_gen::parse_command(raw);
    if (!cmd.ok) return usage(cmd.error.c_str());

    std::string text;
    if (!read_file(cmd.source, text)) {
        std::fprintf(stderr, "%s: error: zsync-gen cannot read the source file\n", cmd.source.c_str());
        return 1;
    }
    const std::string generated = emit.empty() ? cmd.object + ".zsync.cpp" : emit;
    if (report_path.empty() && emit.empty()) report_path = cmd.object + ".zsync.txt";
    // Any zsync annotation (a misspelt one too, so it gets its diagnostic) sends the file through.
    if (text.find("annotate") == std::string::npos || text.find("\"zsync") == std::string::npos) {
        if (!emit.empty()) {
            if (emit == "-") std::cout << text;
            else if (!write_if_changed(emit, text)) return 1;
            return 0;
        }
        std::remove(generated.c_str());
        exec(cmd.args);  // nothing to generate: the real compile, untouched
    }

    const auto t0 = std::chrono::steady_clock::now();
    zsync_gen::GenerateResult r = zsync_gen::generate(cmd.args, cmd.source, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok) {
        std::remove(generated.c_str());  // no half-written or stale output
        if (!r.parsed)
            std::fprintf(stderr, "%s: error: zsync-gen could not parse this file (see clang's errors above); no frames "
                         "were generated\n", cmd.source.c_str());
        else
            std::fputs(r.diagnostics.c_str(), stderr);
        return 1;
    }
    char timing[128];
    std::snprintf(timing, sizeof timing, "zsync-gen: %d frame(s) in %.2f s\n", r.frames, seconds);
    if (!report_path.empty()) {
        if (!write_if_changed(report_path, cmd.source + "\n" + r.report + timing)) {
            std::fprintf(stderr, "zsync-gen: cannot write the report %s\n", report_path.c_str());
            return 1;
        }
    }
    if (emit == "-") {
        std::cout << r.output;
        return 0;
    }
    if (!write_if_changed(generated, r.output)) {
        std::fprintf(stderr, "zsync-gen: cannot write %s\n", generated.c_str());
        std::remove(generated.c_str());
        return 1;
    }
    if (!emit.empty()) return 0;
    std::vector<std::string> args = cmd.args;
    llvm::SmallString<256> abs_generated(generated);
    llvm::sys::fs::make_absolute(abs_generated);
    args[cmd.source_index] = std::string(abs_generated);
    args.insert(args.begin() + 1, {"-iquote", std::string(llvm::sys::path::parent_path(cmd.source))});
    exec(args);
}
