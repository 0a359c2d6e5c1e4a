// Error paths: each asserts the Error's code and op, the OS errno, and that message() names the op.
#include <catch2/catch.hpp>
#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("errors: missing file, not a directory, path too long, embedded NUL", "[errors]", Backends) {
    TempDir tmp;
    std::string file = tmp / "regular";
    { std::FILE* f = std::fopen(file.c_str(), "w"); std::fclose(f); }
    ErrInfo missing, missing_stat, missing_dir, missing_del, notdir_open, notdir_child, too_long, too_long_mkdir,
        too_long_rename, nul, nul_stat, empty_stat;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        missing = info_of(File::open(io, tmp / "does-not-exist"));
        missing_stat = info_of(Dir::cwd().stat_file(io, tmp / "does-not-exist"));
        missing_dir = info_of(Dir::open(io, tmp / "no-dir"));
        missing_del = info_of(Dir::cwd().delete_file(io, tmp / "does-not-exist"));
        notdir_open = info_of(Dir::open(io, file));
        notdir_child = info_of(File::open(io, file + "/child"));
        std::string long_path(5000, 'a');
        too_long = info_of(File::open(io, long_path));
        too_long_mkdir = info_of(Dir::cwd().create_dir(io, long_path));
        too_long_rename = info_of(Dir::cwd().rename(io, file, Dir::cwd(), long_path));
        nul = info_of(File::open(io, std::string_view("a\0b", 3)));
        nul_stat = info_of(Dir::cwd().stat_file(io, std::string_view("x\0", 2)));
        empty_stat = info_of(Dir::cwd().stat_file(io, ""));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_OS_ERROR(missing, std::errc::no_such_file_or_directory, Op::open);
    CHECK(missing.error.message().find("No such file or directory") != std::string::npos);
    CHECK(missing.error.message().find("os error 2") != std::string::npos);
    REQUIRE_OS_ERROR(missing_stat, std::errc::no_such_file_or_directory, Op::stat);
    REQUIRE_OS_ERROR(missing_dir, std::errc::no_such_file_or_directory, Op::open);
    REQUIRE_OS_ERROR(missing_del, std::errc::no_such_file_or_directory, Op::remove);
    REQUIRE_OS_ERROR(notdir_open, std::errc::not_a_directory, Op::open);
    REQUIRE_OS_ERROR(notdir_child, std::errc::not_a_directory, Op::open);
    REQUIRE_ZSYNC_ERROR(too_long, Errc::name_too_long, Op::open);
    REQUIRE_ZSYNC_ERROR(too_long_mkdir, Errc::name_too_long, Op::mkdir);
    REQUIRE_ZSYNC_ERROR(too_long_rename, Errc::name_too_long, Op::rename);
    REQUIRE_ZSYNC_ERROR(nul, Errc::invalid_argument, Op::open);
    REQUIRE_ZSYNC_ERROR(nul_stat, Errc::invalid_argument, Op::stat);
    REQUIRE_OS_ERROR(empty_stat, std::errc::no_such_file_or_directory, Op::stat);
}

TEMPLATE_LIST_TEST_CASE("errors: permission denied (EACCES) for an unprivileged thread", "[errors]", Backends) {
    TempDir tmp;
    std::string secret = tmp / "secret";
    { std::FILE* f = std::fopen(secret.c_str(), "w"); std::fputs("x", f); std::fclose(f); }
    REQUIRE(::chmod(secret.c_str(), 0600) == 0);
    REQUIRE(::chmod(tmp.path().c_str(), 0755) == 0);
    bool switched = false, dropped = false;
    int switch_errno = 0;
    ErrInfo denied;
    auto leak = measure<TestType>([&] {
        std::thread t([&] {
            if (::geteuid() == 0) {
                // Per-thread credentials: the raw syscall changes only this thread (glibc's setresuid
                // would change every thread of the process).
                if (::syscall(SYS_setresuid, 65534, 65534, 65534) != 0) { switch_errno = errno; return; }
                switched = true;
            }
            dropped = ::geteuid() != 0;
            if (!dropped) return;
            TestType rt;
            denied = info_of(File::open(rt.io(), secret));
        });
        t.join();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(::geteuid() == ::getuid());  // the main thread kept its credentials
    if (!dropped) {
        WARN("cannot drop privileges on this thread (errno " << switch_errno << "): EACCES not tested");
        return;
    }
    (void)switched;
    REQUIRE_OS_ERROR(denied, std::errc::permission_denied, Op::open);
}

TEMPLATE_LIST_TEST_CASE("errors: closed descriptors (EBADF) and closing twice", "[errors]", Backends) {
    TempDir tmp;
    std::string path = tmp / "f";
    ErrInfo read_closed, write_bad, twice, dir_twice;
    bool first_close = false, dir_first = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = File::create(io, path);
        if (!f) return;
        File copy = *f;  // a copy shares the OS handle
        first_close = f->close(io).has_value();
        std::byte buf[4];
        read_closed = info_of(copy.read(io, buf));
        write_bad = info_of(File{1 << 20}.write(io, bytes("x")));
        twice = info_of(f->close(io));
        auto d = Dir::open(io, tmp.path());
        if (!d) return;
        dir_first = d->close(io).has_value();
        dir_twice = info_of(d->close(io));
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(first_close);
    REQUIRE_OS_ERROR(read_closed, std::errc::bad_file_descriptor, Op::read);
    REQUIRE_OS_ERROR(write_bad, std::errc::bad_file_descriptor, Op::write);
    REQUIRE_ZSYNC_ERROR(twice, Errc::closed, Op::close);
    CHECK(dir_first);
    REQUIRE_ZSYNC_ERROR(dir_twice, Errc::closed, Op::close);
}

TEMPLATE_LIST_TEST_CASE("errors: zero-length buffers, a huge buffer on a small file, reading past EOF", "[errors][files]", Backends) {
    TempDir tmp;
    std::string path = tmp / "small";
    { std::FILE* f = std::fopen(path.c_str(), "w"); std::fputs("tiny", f); std::fclose(f); }
    constexpr std::size_t huge = std::size_t(1) << 30;  // 1 GiB of address space, never touched
    void* map = ::mmap(nullptr, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(map != MAP_FAILED);
    std::size_t zero_read = 9, zero_write = 9, zero_pread = 9, huge_read = 0, at_eof = 9, past = 9;
    bool ok = false;
    ErrInfo exact;
    char partial[8] = {};
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        OpenOptions o;
        o.access = OpenOptions::read_write;
        auto f = File::open(io, path, o);
        if (!f) return;
        auto a = f->read(io, {});
        auto b = f->write(io, std::span<const std::byte>{});
        auto c = f->pread(io, {}, 0);
        auto d = f->read(io, std::span(static_cast<std::byte*>(map), huge));
        auto e = f->read(io, std::span(static_cast<std::byte*>(map), huge));
        auto g = f->pread(io, std::span(static_cast<std::byte*>(map), 16), 1000);
        ok = a && b && c && d && e && g;
        if (ok) { zero_read = *a; zero_write = *b; zero_pread = *c; huge_read = *d; at_eof = *e; past = *g; }
        auto h = File::open(io, path);
        if (h) {
            exact = info_of(h->read_exact(io, std::as_writable_bytes(std::span(partial))));
            (void)h->close(io);
        }
        (void)f->close(io);
    });
    bool huge_content = std::string_view(static_cast<char*>(map), 4) == "tiny";
    ::munmap(map, huge);
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(zero_read == 0);
    CHECK(zero_write == 0);
    CHECK(zero_pread == 0);
    CHECK(huge_read == 4);
    CHECK(huge_content);
    CHECK(at_eof == 0);
    CHECK(past == 0);
    REQUIRE_ZSYNC_ERROR(exact, Errc::end_of_stream, Op::read);
    CHECK(std::string_view(partial, 4) == "tiny");  // nothing lost: the bytes read so far are kept
}

namespace {
int plus_one(Io, Counted c) { return c.value + 1; }
}  // namespace

TEMPLATE_LIST_TEST_CASE("errors: every call through the Io of a destroyed backend reports io_gone", "[errors][stale]", Backends) {
    Counted::reset();
    TempDir tmp;
    std::string path = tmp / "f";
    { std::FILE* f = std::fopen(path.c_str(), "w"); std::fputs("data", f); std::fclose(f); }
    ErrInfo op_open, op_read, op_stat, op_mkdir, op_sleep, op_yield, op_futex, op_check, op_async, op_concurrent,
        op_group_await, op_group_concurrent, op_batch0, op_batch1, op_close;
    bool group_task_ran = false;
    int counted_live = -1;
    bool protection_ok = false;
    auto leak = measure<TestType>([&] {
        Io io;
        { TestType gone; io = gone.io(); }
        op_open = info_of(File::open(io, path));
        std::byte buf[4];
        op_read = info_of(File{0}.read(io, buf));
        op_stat = info_of(Dir::cwd().stat_file(io, path));
        op_mkdir = info_of(Dir::cwd().create_dir(io, tmp / "d"));
        op_sleep = info_of(io.sleep(std::chrono::seconds(10)));
        op_yield = info_of(io.yield());
        std::atomic<std::uint32_t> w{0};
        op_futex = info_of(io.futex_wait(w, 0));
        io.futex_wake(w, 1);  // must not touch freed state
        op_check = info_of(io.check_cancel());
        io.recancel();
        protection_ok = io.swap_cancel_protection(CancelProtection::blocked) == CancelProtection::unblocked;
        auto f = io.async(plus_one, Counted(1));
        op_async = info_of(f.await(io));
        auto c = io.concurrent(plus_one, Counted(2));
        op_concurrent = info_of(c);
        {
            Group g;
            (void)g.async(io, [&group_task_ran](Io) { group_task_ran = true; });
            op_group_await = info_of(g.await(io));
            op_group_concurrent = info_of(g.concurrent(io, [](Io) {}));
        }
        Operation ops[] = {Operation::yield(), Operation::read(0, buf)};
        io.batch(ops);
        op_batch0 = info_of(ops[0].result);
        op_batch1 = info_of(ops[1].result);
        File fake{1 << 20};
        op_close = info_of(fake.close(io));
        counted_live = Counted::live();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(op_open, Errc::io_gone, Op::open);
    REQUIRE_ZSYNC_ERROR(op_read, Errc::io_gone, Op::read);
    REQUIRE_ZSYNC_ERROR(op_stat, Errc::io_gone, Op::stat);
    REQUIRE_ZSYNC_ERROR(op_mkdir, Errc::io_gone, Op::mkdir);
    REQUIRE_ZSYNC_ERROR(op_sleep, Errc::io_gone, Op::sleep);
    REQUIRE_ZSYNC_ERROR(op_yield, Errc::io_gone, Op::yield);
    REQUIRE_ZSYNC_ERROR(op_futex, Errc::io_gone, Op::futex_wait);
    REQUIRE_ZSYNC_ERROR(op_check, Errc::io_gone, Op::check_cancel);
    CHECK(protection_ok);
    REQUIRE_ZSYNC_ERROR(op_async, Errc::io_gone, Op::async);
    REQUIRE_ZSYNC_ERROR(op_concurrent, Errc::io_gone, Op::concurrent);
    CHECK_FALSE(group_task_ran);
    REQUIRE_ZSYNC_ERROR(op_group_await, Errc::io_gone, Op::group_await);
    REQUIRE_ZSYNC_ERROR(op_group_concurrent, Errc::io_gone, Op::group_concurrent);
    REQUIRE_ZSYNC_ERROR(op_batch0, Errc::io_gone, Op::yield);
    REQUIRE_ZSYNC_ERROR(op_batch1, Errc::io_gone, Op::read);
    REQUIRE_ZSYNC_ERROR(op_close, Errc::io_gone, Op::close);
    CHECK(counted_live == 0);  // the arguments of tasks that never ran were destroyed
    CHECK(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(tmp / "d"));
}
