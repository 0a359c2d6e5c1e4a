// File operations, success and error paths: open/create/close, read/write, pread/pwrite, vectored I/O,
// copy_range, send_file, stat, sync; time (sleep_until, yield) and Io::batch.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("files: create, write, read back, open options, close", "[files]", Backends) {
    TempDir dir;
    std::string path = dir / "a.txt";
    bool created = false, wrote = false, closed = false, reopened = false, read_ok = false, appended = false;
    bool excl_ok = false;
    std::size_t n_read = 0;
    char content[64] = {};
    ErrInfo excl, write_on_ro;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = File::create(io, path, 0640);
        created = f.has_value() && f->is_open();
        if (!created) return;
        wrote = f->write_all(io, "hello, ").has_value();
        closed = f->close(io).has_value() && !f->is_open();
        OpenOptions ap;
        ap.access = OpenOptions::write_only;
        ap.append = true;
        auto a = File::open(io, path, ap);
        appended = a && a->write_all(io, "world").has_value() && a->close(io).has_value();
        auto r = File::open(io, path);
        reopened = r.has_value();
        if (!reopened) return;
        auto n = r->read(io, std::as_writable_bytes(std::span(content)));
        read_ok = n.has_value();
        if (n) n_read = *n;
        write_on_ro = info_of(r->write(io, bytes("x")));
        (void)r->close(io);
        OpenOptions ex;
        ex.access = OpenOptions::read_write;
        ex.create = true;
        ex.exclusive = true;
        excl = info_of(File::open(io, path, ex));
        auto fresh = File::open(io, dir / "new.txt", ex);
        excl_ok = fresh && fresh->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(created);
    CHECK(wrote);
    CHECK(closed);
    CHECK(appended);
    REQUIRE(reopened);
    REQUIRE(read_ok);
    CHECK(std::string_view(content, n_read) == "hello, world");
    REQUIRE_OS_ERROR(write_on_ro, std::errc::bad_file_descriptor, Op::write);
    REQUIRE_OS_ERROR(excl, std::errc::file_exists, Op::open);
    CHECK(excl_ok);
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_all) == std::filesystem::perms::none);
}

TEMPLATE_LIST_TEST_CASE("files: pread/pwrite at offsets, truncate", "[files]", Backends) {
    TempDir dir;
    std::string path = dir / "p.bin";
    bool ok = false;
    std::size_t w1 = 0, w2 = 0, r1 = 0, past = 99;
    char got[16] = {};
    std::uint64_t size_after_truncate = 99;
    ErrInfo bad_pread;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        OpenOptions o;
        o.access = OpenOptions::read_write;
        o.create = true;
        auto f = File::open(io, path, o);
        if (!f) return;
        auto a = f->pwrite(io, bytes("0123456789"), 0);
        auto b = f->pwrite(io, bytes("AB"), 4);
        auto c = f->pread(io, std::as_writable_bytes(std::span(got, 6)), 2);
        auto d = f->pread(io, std::as_writable_bytes(std::span(got + 8, 4)), 100);  // past the end
        ok = a && b && c && d;
        if (ok) { w1 = *a; w2 = *b; r1 = *c; past = *d; }
        (void)f->close(io);
        auto t = File::create(io, path);  // create truncates
        if (t) { auto st = t->stat(io); if (st) size_after_truncate = st->size; (void)t->close(io); }
        bad_pread = info_of(File{-1}.pread(io, std::as_writable_bytes(std::span(got)), 0));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(w1 == 10);
    CHECK(w2 == 2);
    CHECK(r1 == 6);
    CHECK(std::string_view(got, 6) == "23AB67");
    CHECK(past == 0);
    CHECK(size_after_truncate == 0);
    REQUIRE_OS_ERROR(bad_pread, std::errc::bad_file_descriptor, Op::pread);
}

TEMPLATE_LIST_TEST_CASE("files: readv/writev/preadv/pwritev", "[files]", Backends) {
    TempDir dir;
    std::string path = dir / "v.bin";
    bool ok = false;
    std::size_t wv = 0, pwv = 0, rv = 0, prv = 0;
    char a[4] = {}, b[8] = {}, c[3] = {}, d[5] = {};
    ErrInfo bad_readv, too_many, bad_writev, bad_preadv, bad_pwritev;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        OpenOptions o;
        o.access = OpenOptions::read_write;
        o.create = true;
        auto f = File::open(io, path, o);
        if (!f) return;
        char s1[] = "abc", s2[] = "defgh", s3[] = "XY";
        IoVec out[] = {{s1, 3}, {s2, 5}};
        IoVec pout[] = {{s3, 2}};
        auto r_wv = f->writev(io, out);
        auto r_pwv = f->pwritev(io, pout, 1);  // "aXYdefgh"
        IoVec in[] = {{a, 4}, {b, 8}};
        auto r_rv = File{f->handle}.preadv(io, in, 0);
        IoVec pin[] = {{c, 3}, {d, 5}};
        auto r_prv = f->preadv(io, pin, 2);
        ok = r_wv && r_pwv && r_rv && r_prv;
        if (ok) { wv = *r_wv; pwv = *r_pwv; rv = *r_rv; prv = *r_prv; }
        // readv from the current position (8, the end) reads nothing.
        auto at_end = f->readv(io, in);
        ok = ok && at_end && *at_end == 0;
        (void)f->close(io);
        bad_readv = info_of(File{-1}.readv(io, in));
        bad_writev = info_of(File{-1}.writev(io, out));
        bad_preadv = info_of(File{-1}.preadv(io, in, 0));
        bad_pwritev = info_of(File{-1}.pwritev(io, out, 0));
        Operation huge = Operation::readv(0, {});
        huge.rw.len = std::uint64_t(1) << 31;  // more buffers than the OS accepts
        too_many = info_of(io.operate(huge));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(wv == 8);
    CHECK(pwv == 2);
    CHECK(rv == 8);
    CHECK(std::string_view(a, 4) == "aXYd");
    CHECK(std::string_view(b, 4) == "efgh");
    CHECK(prv == 6);
    CHECK(std::string_view(c, 3) == "Yde");
    CHECK(std::string_view(d, 3) == "fgh");
    REQUIRE_OS_ERROR(bad_readv, std::errc::bad_file_descriptor, Op::readv);
    REQUIRE_OS_ERROR(bad_writev, std::errc::bad_file_descriptor, Op::writev);
    REQUIRE_OS_ERROR(bad_preadv, std::errc::bad_file_descriptor, Op::preadv);
    REQUIRE_OS_ERROR(bad_pwritev, std::errc::bad_file_descriptor, Op::pwritev);
    REQUIRE_ZSYNC_ERROR(too_many, Errc::invalid_argument, Op::readv);
}

TEMPLATE_LIST_TEST_CASE("files: copy_range and send_file", "[files]", Backends) {
    TempDir dir;
    std::string src = dir / "src", dst = dir / "dst", dst2 = dir / "dst2";
    { std::FILE* f = std::fopen(src.c_str(), "w"); std::fputs("0123456789abcdef", f); std::fclose(f); }
    bool ok = false;
    std::size_t copied = 0, copied_pos = 0, sent = 0, at_end = 99;
    std::string dst_content, dst2_content;
    ErrInfo bad_copy, bad_send, copy_to_ro;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto in = File::open(io, src);
        auto out = File::create(io, dst);
        auto out2 = File::create(io, dst2);
        if (!in || !out || !out2) return;
        auto c1 = File::copy_range(io, *in, 4, *out, 0, 6);        // "456789" at 0
        auto c2 = File::copy_range(io, *in, -1, *out, -1, 3);      // positions: "012" at 0 (out pos 0)
        auto s1 = File::send_file(io, *out2, *in, 10, 100);        // "abcdef"
        auto c3 = File::copy_range(io, *in, 16, *out, 20, 10);     // at the end of `in`
        ok = c1 && c2 && s1 && c3;
        if (ok) { copied = *c1; copied_pos = *c2; sent = *s1; at_end = *c3; }
        bad_copy = info_of(File::copy_range(io, File{-1}, 0, *out, 0, 1));
        bad_send = info_of(File::send_file(io, *out2, File{-1}, 0, 1));
        copy_to_ro = info_of(File::copy_range(io, *in, 0, *in, 100, 1));
        (void)in->close(io);
        (void)out->close(io);
        (void)out2->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(copied == 6);
    CHECK(copied_pos == 3);
    CHECK(sent == 6);
    CHECK(at_end == 0);
    { std::FILE* f = std::fopen(dst.c_str(), "r"); char b[32] = {}; auto n = std::fread(b, 1, 31, f); std::fclose(f); dst_content.assign(b, n); }
    { std::FILE* f = std::fopen(dst2.c_str(), "r"); char b[32] = {}; auto n = std::fread(b, 1, 31, f); std::fclose(f); dst2_content.assign(b, n); }
    CHECK(dst_content == "012789");
    CHECK(dst2_content == "abcdef");
    REQUIRE_OS_ERROR(bad_copy, std::errc::bad_file_descriptor, Op::copy_file_range);
    REQUIRE_OS_ERROR(bad_send, std::errc::bad_file_descriptor, Op::sendfile);
    REQUIRE_OS_ERROR(copy_to_ro, std::errc::bad_file_descriptor, Op::copy_file_range);
}

TEMPLATE_LIST_TEST_CASE("files: stat and sync", "[files]", Backends) {
    TempDir dir;
    std::string path = dir / "s";
    bool ok = false, sync_ok = false, datasync_ok = false;
    FileStat st{}, dst{};
    ErrInfo bad_stat, bad_sync, pipe_sync;
    int p[2] = {-1, -1};
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = File::create(io, path, 0600);
        if (!f) return;
        (void)f->write_all(io, "12345");
        sync_ok = f->sync(io).has_value();
        datasync_ok = f->sync(io, true).has_value();
        auto s = f->stat(io);
        ok = s.has_value();
        if (ok) st = *s;
        (void)f->close(io);
        auto d = Dir::cwd().stat_file(io, dir.path());
        if (d) dst = *d;
        bad_stat = info_of(File{-1}.stat(io));
        bad_sync = info_of(File{-1}.sync(io));
        pipe_sync = info_of(File{p[1]}.sync(io));
    });
    ::close(p[0]);
    ::close(p[1]);
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(sync_ok);
    CHECK(datasync_ok);
    CHECK(st.size == 5);
    CHECK(st.kind == FileKind::file);
    CHECK(st.mode == 0600);
    CHECK(st.nlink == 1);
    CHECK(st.inode != 0);
    CHECK(st.mtime_ns > 0);
    CHECK(dst.kind == FileKind::directory);
    REQUIRE_OS_ERROR(bad_stat, std::errc::bad_file_descriptor, Op::stat);
    REQUIRE_OS_ERROR(bad_sync, std::errc::bad_file_descriptor, Op::fsync);
    REQUIRE_OS_ERROR(pipe_sync, std::errc::invalid_argument, Op::fsync);
}

TEMPLATE_LIST_TEST_CASE("time: sleep_until a deadline, a past deadline, yield", "[time]", Backends) {
    bool slept = false, past_ok = false, yield_ok = false, never_ok = true;
    double ms = 0, past_ms = 1e9;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto t0 = SteadyClock::now();
        Deadline d = Deadline::after(std::chrono::milliseconds(30));
        slept = io.sleep_until(d).has_value() && d.passed();
        ms = ms_since(t0);
        t0 = SteadyClock::now();
        past_ok = io.sleep_until(Deadline{0}).has_value() && io.sleep(-std::chrono::seconds(5)).has_value();
        past_ms = ms_since(t0);
        yield_ok = io.yield().has_value();
        never_ok = Deadline::never().is_never() && !Deadline::never().passed() &&
                   Deadline::after(std::chrono::nanoseconds(INT64_MAX)).is_never();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(slept);
    CHECK(ms >= 29);
    CHECK(past_ok);
    CHECK(past_ms < 1000);
    CHECK(yield_ok);
    CHECK(never_ok);
}

TEMPLATE_LIST_TEST_CASE("batch: several operations, one failing, each reports its own result", "[batch]", Backends) {
    TempDir dir;
    std::string path = dir / "b";
    bool ok_write = false, ok_read = false, ok_stat = false, ok_nop = false;
    std::uint64_t written = 0, read_n = 0;
    ErrInfo missing, bad;
    char got[8] = {};
    FileStat st{};
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        OpenOptions o;
        o.access = OpenOptions::read_write;
        o.create = true;
        auto f = File::open(io, path, o);
        if (!f) return;
        std::string missing_path = dir / "missing";
        Operation ops[] = {
            Operation::pwrite(f->handle, bytes("batch"), 0),
            Operation::stat_at(cwd_handle, missing_path, st),
            Operation::pread(f->handle, std::as_writable_bytes(std::span(got, 5)), 0),
            Operation::read(-1, std::as_writable_bytes(std::span(got))),
            Operation::stat_at(f->handle, {}, st),
            Operation::nop(),
        };
        io.batch(ops);
        ok_write = ops[0].result.has_value();
        if (ok_write) written = *ops[0].result;
        missing = info_of(ops[1].result);
        ok_read = ops[2].result.has_value();
        if (ok_read) read_n = *ops[2].result;
        bad = info_of(ops[3].result);
        ok_stat = ops[4].result.has_value();
        ok_nop = ops[5].result.has_value();
        io.batch(std::span<Operation>{});  // empty batch
        (void)f->close(io);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(ok_write);
    CHECK(written == 5);
    REQUIRE_OS_ERROR(missing, std::errc::no_such_file_or_directory, Op::stat);
    CHECK(ok_read);
    CHECK(read_n == 5);
    CHECK(std::string_view(got, 5) == "batch");
    REQUIRE_OS_ERROR(bad, std::errc::bad_file_descriptor, Op::read);
    CHECK(ok_stat);
    CHECK(st.size == 5);
    CHECK(ok_nop);
}

TEMPLATE_LIST_TEST_CASE("batch: a pending request cancels the batch, close still runs", "[batch][cancel]", Backends) {
    TempDir dir;
    std::string path = dir / "c";
    ErrInfo first, second;
    bool close_ok = false, released = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = File::create(io, path);
        if (!f) return;
        Handle h = f->handle;
        BackendTraits<TestType>::request_cancel(rt);
        Operation ops[] = {Operation::write(h, bytes("x")), Operation::yield(), Operation::close(h)};
        io.batch(ops);
        first = info_of(ops[0].result);
        second = info_of(ops[1].result);
        close_ok = ops[2].result.has_value();
        released = ::fcntl(h, F_GETFD) == -1;
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(first, Errc::canceled, Op::write);
    REQUIRE_ZSYNC_ERROR(second, Errc::canceled, Op::yield);
    CHECK(close_ok);
    CHECK(released);
    CHECK(std::filesystem::file_size(path) == 0);
}
