// OpenOptions::beneath (issue 10): Dir::open_file refuses paths that resolve outside the directory —
// "..", absolute paths, symbolic links out (to a sibling file, to /etc) — with Errc::outside_directory,
// and still follows links that stay inside. Without the option the same links are followed (what
// http_server --follow-symlinks relies on). A symlink loop is the OS's ELOOP either way.
// Run twice by CTest: as part of conformance_tests (openat2 where the kernel has it) and as
// conformance.beneath.no_openat2 with ZSYNC_TEST_NO_OPENAT2=1 (the /proc/self/fd checked fallback).
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <string>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

namespace {

std::string slurp(Io io, File f) {
    std::string out;
    std::byte buf[256];
    for (;;) {
        auto n = f.read(io, buf);
        if (!n || *n == 0) break;
        out.append(reinterpret_cast<const char*>(buf), *n);
    }
    (void)f.close(io);
    return out;
}

void write_text(const std::string& path, const char* text) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) std::abort();
    std::fputs(text, f);
    std::fclose(f);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("dirs: open_file beneath refuses .., absolute paths and symlinks out, follows links inside", "[dirs][beneath]", Backends) {
    TempDir tmp;
    const std::string root = tmp.path() + "/root";
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    REQUIRE(::mkdir((root + "/sub").c_str(), 0755) == 0);
    write_text(root + "/a.txt", "inside");
    write_text(root + "/sub/b.txt", "deeper");
    write_text(tmp.path() + "/secret.txt", "SECRET");
    REQUIRE(::symlink("a.txt", (root + "/in_link").c_str()) == 0);
    REQUIRE(::symlink("sub", (root + "/dir_link").c_str()) == 0);
    REQUIRE(::symlink("../a.txt", (root + "/sub/up_link").c_str()) == 0);  // up, but still inside
    REQUIRE(::symlink("../secret.txt", (root + "/out_link").c_str()) == 0);
    REQUIRE(::symlink("/etc", (root + "/etc_link").c_str()) == 0);
    REQUIRE(::symlink("loop", (root + "/loop").c_str()) == 0);

    std::string a, in, dir_b, up;
    ErrInfo dotdot, absolute, out, etc, loop, sub_dotdot;
    std::string followed_out;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto d = Dir::open(io, root);
        if (!d) return;
        OpenOptions b;
        b.beneath = true;
        auto read = [&](std::string_view p) -> std::string {
            auto f = d->open_file(io, p, b);
            return f ? slurp(io, *f) : std::string("<") + f.error().message() + ">";
        };
        auto error = [&](std::string_view p) {
            auto f = d->open_file(io, p, b);
            if (f) (void)f->close(io);
            return info_of(f);
        };
        a = read("a.txt");
        in = read("in_link");
        dir_b = read("dir_link/b.txt");
        up = read("sub/up_link");
        dotdot = error("../secret.txt");
        sub_dotdot = error("sub/../../secret.txt");
        absolute = error("/etc/passwd");
        out = error("out_link");
        etc = error("etc_link/passwd");
        loop = error("loop");
        auto plain = d->open_file(io, "out_link");  // without beneath: followed
        followed_out = plain ? slurp(io, *plain) : std::string();
        (void)d->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(a == "inside");
    CHECK(in == "inside");
    CHECK(dir_b == "deeper");
    CHECK(up == "inside");
    REQUIRE_ZSYNC_ERROR(dotdot, Errc::outside_directory, Op::open);
    REQUIRE_ZSYNC_ERROR(sub_dotdot, Errc::outside_directory, Op::open);
    REQUIRE_ZSYNC_ERROR(absolute, Errc::outside_directory, Op::open);
    REQUIRE_ZSYNC_ERROR(out, Errc::outside_directory, Op::open);
    REQUIRE_ZSYNC_ERROR(etc, Errc::outside_directory, Op::open);
    REQUIRE_OS_ERROR(loop, std::errc::too_many_symbolic_link_levels, Op::open);
    CHECK(followed_out == "SECRET");
    CHECK(Error(Errc::outside_directory, Op::open).message() == "open: path resolves outside the directory");
}
