// zsync-gen's differential tests (issue 5 §2): each function of programs.cpp against its own frame,
// under every fault, and destroyed at every suspension point; and, in the binaries built with
// --plant-bug=N, proof that the harness notices each planted bug.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <thread>
#include <string>
#include <unistd.h>
#include <vector>
#include "differential.hpp"
#include "programs.hpp"
#include "tracked.hpp"
import zsync;


namespace {

struct TempFile {
    zsync::Io io;
    std::string path;
    zsync::File file;
    TempFile(zsync::Io i, std::string_view content) : io(i) {
        path = "/tmp/zsync_gen_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
        auto f = zsync::File::create(io, path);
        REQUIRE(f);
        REQUIRE(f->write_all(io, content));
        REQUIRE(f->close(io));
        zsync::OpenOptions rw;
        rw.access = zsync::OpenOptions::read_write;
        auto g = zsync::File::open(io, path, rw);
        REQUIRE(g);
        file = *g;
    }
    ~TempFile() {
        (void)file.close(io);
        std::remove(path.c_str());
    }
    static inline int counter = 0;
};

// A fresh empty directory, removed with what is left in it.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/zsync_gen_dir_XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

#ifndef ZSYNC_PLANTED_BUG
#define ZSYNC_PLANTED_BUG 0
#endif
constexpr int planted = ZSYNC_PLANTED_BUG;

// Every program through the harness; returns the first difference per program ("" when equal).
std::vector<std::pair<std::string, std::string>> check_all(zsync::Io io) {
    TempFile text(io, "frames are plain structs; resume is a switch");
    TempFile eight(io, "abcdefgh");
    std::vector<std::pair<std::string, std::string>> out;
    auto both = [&](const char* name, std::string a, std::string b) {
        out.emplace_back(std::string(name) + " (differential)", a);
        out.emplace_back(std::string(name) + " (destroyed while waiting)", b);
    };
    using namespace gen_test;
    both("for_loop", differential<&progs::for_loop>(io, 3), destroy_at_every_point<&progs::for_loop>(io, 3));
    both("while_and_do", differential<&progs::while_and_do>(io, 2), destroy_at_every_point<&progs::while_and_do>(io, 2));
    both("range_for", differential<&progs::range_for>(io, 3), destroy_at_every_point<&progs::range_for>(io, 3));
    both("break_and_continue", differential<&progs::break_and_continue>(io, 7),
         destroy_at_every_point<&progs::break_and_continue>(io, 7));
    for (int mode = 0; mode < 4; ++mode)
        both(("branches mode " + std::to_string(mode)).c_str(), differential<&progs::branches>(io, mode),
             destroy_at_every_point<&progs::branches>(io, mode));
    both("init_statements", differential<&progs::init_statements>(io, 4), destroy_at_every_point<&progs::init_statements>(io, 4));
    both("five_deep", differential<&progs::five_deep>(io, 1), destroy_at_every_point<&progs::five_deep>(io, 1));
    both("spans_and_lambdas", differential<&progs::spans_and_lambdas>(io, 4),
         destroy_at_every_point<&progs::spans_and_lambdas>(io, 4));
    both("read_file", differential<&progs::read_file>(io, text.file), destroy_at_every_point<&progs::read_file>(io, text.file));
    both("two_in_a_row", differential<&progs::two_in_a_row>(io, eight.file),
         destroy_at_every_point<&progs::two_in_a_row>(io, eight.file));
    TempFile log(io, "");
    both("log_lines", differential<&progs::log_lines>(io, log.file, 3), destroy_at_every_point<&progs::log_lines>(io, log.file, 3));
    for (int n : {1, 2, 7})
        both(("expressions n=" + std::to_string(n)).c_str(), differential<&progs::expressions>(io, n),
             destroy_at_every_point<&progs::expressions>(io, n));
    both("members", differential<&progs::members>(io, 30), destroy_at_every_point<&progs::members>(io, 30));
    for (int when : {0, 1, 2, 4})
        both(("exceptions when=" + std::to_string(when)).c_str(), differential<&progs::exceptions>(io, when),
             destroy_at_every_point<&progs::exceptions>(io, when));
    both("void_callee", differential<&progs::void_callee>(io, 3), destroy_at_every_point<&progs::void_callee>(io, 3));
    // The library in frames: files and directories (fresh directory; the frames' handles are closed by
    // the harness when it destroys them), and tasks and groups started and awaited inside a frame.
    {
        TempDir dir;
        const std::string_view path = dir.path;
        both("files_and_dirs", differential<&progs::files_and_dirs>(io, path, 1),
             destroy_holding_handles<&progs::files_and_dirs>(io, path, 1));
    }
    both("spawn_and_await", differential_tasks<&progs::spawn_and_await>(io, 3),
         destroy_at_every_point<&progs::spawn_and_await>(io, 3));
    // A mutex held by a thread that has ended: a lock from here must wait (until its deadline).
    static zsync::Mutex busy;
    if (!busy.is_locked()) std::thread([] { (void)busy.try_lock(); }).join();
    both("mutex_work", differential<&progs::mutex_work>(io, &busy, 3), destroy_at_every_point<&progs::mutex_work>(io, &busy, 3));
    both("sockets", differential<&progs::sockets>(io, 7), destroy_holding_handles<&progs::sockets>(io, 7));
    return out;
}

}  // namespace

TEST_CASE("zsync-gen: every program's frame behaves as the plain function", "[gen]") {
    if constexpr (planted != 0) return;  // the planted binaries check the opposite, below
    zsync::BlockingIo rt;
    // Each run is leak-checked by the harness itself (differential.hpp).
    auto results = check_all(rt.io());
    for (auto& [name, problem] : results) {
        INFO(name);
        CHECK(problem == "");
    }
    CHECK(results.size() == 54);
    CHECK(gen_test::events.live == 0);
}

TEST_CASE("zsync-gen: frames run the same work as the plain functions", "[gen]") {
    if constexpr (planted != 0) return;
    zsync::BlockingIo rt;
    // Sanity of the programs themselves (so that "equal" is not "equally broken").
    CHECK(*progs::for_loop(rt.io(), 3) == 0 + 1 + 2 + 300);
    CHECK(*progs::five_deep(rt.io(), 1) > 0);
    CHECK(*progs::init_statements(rt.io(), 4) == 4 + 20);
    CHECK(*progs::members(rt.io(), 30) == (70 + 35) * 1000 + 35 * 10 + 70);
    CHECK(*progs::exceptions(rt.io(), 1) == 1 + 20 + 3000 + 7 + 100);
    CHECK(*progs::spans_and_lambdas(rt.io(), 4) == 1 + 2);
    TempFile log(rt.io(), "");
    CHECK(*progs::log_lines(rt.io(), log.file, 2) == 2);
    CHECK(*progs::spawn_and_await(rt.io(), 3) == 2 + 4 + 6 + 200);
    CHECK(*progs::sockets(rt.io(), 1) == "ping over a socket pair, longer than the read buffer | 52");
    {
        TempDir dir;
        auto r = progs::files_and_dirs(rt.io(), dir.path, 5);
        REQUIRE(r);
        CHECK(*r == "round 5: a line long enough to leave the small buffer | size 53 | entries 1");
    }
    // Annotated functions are registered by address; a callee that is only ever embedded is not.
    REQUIRE(gen_test::frame_descriptor<&progs::for_loop>() != nullptr);
    CHECK(gen_test::frame_descriptor<&progs::five_deep>()->size > 0);
    CHECK(gen_test::frame_descriptor<&progs::leaf>() == nullptr);
}

// Built again with --plant-bug=1, 2 and 3 (drop a destructor, swap two suspending calls, evaluate the
// skipped side of &&): the harness must notice each planted bug.
TEST_CASE("zsync-gen: the harness catches the planted bug", "[gen][planted]") {
    if constexpr (planted == 0) return;
    zsync::BlockingIo rt;
    auto results = check_all(rt.io());
    int caught = 0;
    for (auto& [name, problem] : results)
        if (!problem.empty()) {
            ++caught;
            UNSCOPED_INFO(name << ": " << problem);
        }
    CHECK(caught > 0);
}
