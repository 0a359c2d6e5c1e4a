// program_gen: writes N random plain functions for zsync-gen's differential harness (issue 6 §3).
//
//   program_gen --seed S --count N --out-dir D [--features LIST] [--only I]
//
// writes D/random_programs.cpp (the functions, to be compiled through zsync_stackless), D/random_programs.hpp
// (the declarations of the annotated ones) and D/random_table.cpp (a Catch2 test per program). Program i
// is built from seed S + i alone, so `--only I` writes program I by itself, identical to its copy
// among the N. A host tool: standard library only.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>
#include "features.hpp"
#include "generator.hpp"
#include "printer.hpp"

namespace {

constexpr const char* synopsis = "usage: program_gen --seed S [--count N | --only I] --out-dir D [--features LIST]\n";

int usage(const std::string& why) {
    std::fprintf(stderr, "program_gen: %s\n%s(program_gen --help describes the options and lists the features)\n", why.c_str(), synopsis);
    return 2;
}

int help() {
    std::printf("%s"
                "  --seed S       base seed (program i uses S + i)\n"
                "  --count N      programs 0 .. N-1 (default 200)\n"
                "  --only I       program I alone (seed S + I), the same text as among all of them\n"
                "  --out-dir D    where random_programs.cpp, random_programs.hpp, random_table.cpp go (created)\n"
                "  --features L   what programs may contain (default: statements):\n%s",
                synopsis, pgen::feature_help().c_str());
    return 0;
}

template <class T>
bool number(std::string_view text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool write(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) std::fprintf(stderr, "program_gen: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
    pgen::Run run;
    run.count = 200;
    run.features = "statements";
    bool have_seed = false;
    std::string out_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--help" || a == "-h") return help();
        if (i + 1 >= argc) return usage("missing value after " + std::string(a));
        const std::string_view v = argv[++i];
        if (a == "--seed") {
            if (!number(v, run.base_seed)) return usage("--seed wants an unsigned 64-bit number, not '" + std::string(v) + "'");
            have_seed = true;
        } else if (a == "--count") {
            if (!number(v, run.count) || run.count < 0) return usage("--count wants a number >= 0");
        } else if (a == "--only") {
            if (!number(v, run.only) || run.only < 0) return usage("--only wants a program index >= 0");
        } else if (a == "--out-dir") {
            out_dir = v;
        } else if (a == "--features") {
            run.features = v;
        } else {
            return usage("unknown option " + std::string(a));
        }
    }
    if (!have_seed) return usage("--seed is required");
    if (out_dir.empty()) return usage("--out-dir is required");
    pgen::FeatureSet features;
    std::string error;
    if (!pgen::parse_features(run.features, features, error)) return usage(error);
    run.features = features.names();  // canonical, so a reproduction command names exactly what was on

    std::vector<pgen::Program> programs;
    auto one = [&](int i) { programs.push_back(pgen::generate_program(run.base_seed + static_cast<std::uint64_t>(i), i, features)); };
    if (run.only >= 0) one(run.only);
    else
        for (int i = 0; i < run.count; ++i) one(i);

    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) {
        std::fprintf(stderr, "program_gen: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
        return 1;
    }
    const bool ok = write(out_dir + "/random_programs.cpp", pgen::print_programs(programs, run)) &&
                    write(out_dir + "/random_programs.hpp", pgen::print_declarations(programs, run)) &&
                    write(out_dir + "/random_table.cpp", pgen::print_table(programs, run));
    return ok ? 0 : 1;
}
