// Deadlines on file Operations, the same on every backend: a read from an empty pipe and a write to a
// full one give Errc::timeout (op read / write / readv / writev) once the deadline has passed; data or
// room that is there wins over a passed deadline; a regular file is always ready, so a passed deadline
// does not stop its read (best effort, as documented). A cancelled deadline wait is canceled, not
// timeout: tests/conformance/cancel.cpp.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

namespace {
struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        r = fds[0];
        w = fds[1];
    }
    ~Pipe() { ::close(r); ::close(w); }
};
}  // namespace

TEMPLATE_LIST_TEST_CASE("deadlines: an empty pipe's read and a full pipe's write time out", "[deadline][files]", Backends) {
    Pipe p;
    REQUIRE(::fcntl(p.w, F_SETPIPE_SZ, 4096) > 0);
    ErrInfo read_err, readv_err, write_err, writev_err, exact_err;
    bool passed_after_read = false, passed_after_write = false;
    std::size_t filled = 0;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        File in{p.r}, out{p.w};
        std::byte buf[64];
        Deadline d = Deadline::after(30ms);
        read_err = info_of(in.read(io, buf, d));
        passed_after_read = d.passed();
        IoVec v[1] = {{buf, sizeof buf}};
        readv_err = info_of(in.readv(io, v, Deadline::after(5ms)));
        // Fill the pipe: a write with a passed deadline still goes in while there is room.
        std::byte chunk[512] = {};
        for (;;) {
            auto n = out.write(io, chunk, Deadline::after(-1s));
            if (!n) { write_err = info_of(n); break; }
            filled += *n;
            if (filled > (1u << 20)) break;  // a broken deadline path must not loop forever
        }
        Deadline w = Deadline::after(20ms);
        auto again = out.write(io, chunk, w);
        passed_after_write = w.passed() && !again;
        IoVec cv[1] = {{chunk, sizeof chunk}};
        writev_err = info_of(out.writev(io, cv, Deadline::after(5ms)));
        // read_exact under one deadline: the pipe holds `filled` bytes; ask for more.
        std::vector<std::byte> big(filled + 16);
        exact_err = info_of(in.read_exact(io, big, Deadline::after(20ms)));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(read_err, Errc::timeout, Op::read);
    CHECK(passed_after_read);
    REQUIRE_ZSYNC_ERROR(readv_err, Errc::timeout, Op::readv);
    REQUIRE_ZSYNC_ERROR(write_err, Errc::timeout, Op::write);  // the pipe filled up before 1 MiB
    // A pipe is writable while PIPE_BUF (4096) bytes are free, so with a 4 KiB pipe the first 512 B
    // go in and the next write, which would have to wait, reports timeout.
    CHECK(filled >= 512);
    CHECK(filled <= (1u << 20));
    CHECK(passed_after_write);
    REQUIRE_ZSYNC_ERROR(writev_err, Errc::timeout, Op::writev);
    REQUIRE_ZSYNC_ERROR(exact_err, Errc::timeout, Op::read);
}

TEMPLATE_LIST_TEST_CASE("deadlines: data that is there wins over a passed deadline, a regular file is always ready", "[deadline][files]", Backends) {
    Pipe p;
    TempDir dir;
    std::string path = dir / "ready.txt";
    std::size_t from_pipe = 0, from_file = 0;
    std::string text;
    ErrInfo bad_fd;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        REQUIRE(::write(p.w, "abc", 3) == 3);
        std::byte buf[16];
        auto n = File{p.r}.read(io, buf, Deadline::after(-1s));
        if (n) from_pipe = *n;
        auto f = File::create(io, path);
        REQUIRE(f);
        REQUIRE(f->write_all(io, std::string_view("regular"), Deadline::after(-1s)));
        (void)f->close(io);
        auto g = File::open(io, path);
        REQUIRE(g);
        auto m = g->read(io, buf, Deadline::after(-1s));
        if (m) {
            from_file = *m;
            text.assign(reinterpret_cast<const char*>(buf), *m);
        }
        (void)g->close(io);
        bad_fd = info_of(File{-1}.read(io, buf, Deadline::after(10ms)));
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(from_pipe == 3);
    CHECK(from_file == 7);
    CHECK(text == "regular");
    // The same error as without a deadline: the OS's EBADF, never a timeout or a hang.
    REQUIRE_ZSYNC_ERROR(bad_fd, Errc::system, Op::read);
    CHECK(bad_fd.error.os_error() == EBADF);
}
