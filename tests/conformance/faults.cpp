// Fault injection with zsync::testing::FaultIo: a realistic workflow run with each of its operations in
// turn failing (EIO) or cancelled, and FaultIo's own semantics.
#include <catch2/catch.hpp>
#include <array>
#include <fcntl.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;
using zsync::testing::FaultIo;
using zsync::testing::TraceEntry;

namespace {

// Closes a handle on scope exit unless it was closed on the success path (close is not a cancel point,
// so cleanup is never disturbed by a pending cancellation).
template <class H>
struct Closer {
    Io io;
    H& h;
    ~Closer() { if (h.handle != invalid_handle) (void)h.close(io); }
};

// A plain function over Io: make a work directory, write a file, check it, read it back, rename, list,
// delete. Returns the first error; releases every handle on every path.
Result<void> workflow(Io io, std::string root_path) {
    auto root = Dir::open(io, root_path);
    if (!root) return root.error();
    Closer<Dir> close_root{io, *root};
    if (auto r = root->create_dir(io, "work"); !r) return r;
    auto work = root->open_dir(io, "work");
    if (!work) return work.error();
    Closer<Dir> close_work{io, *work};
    {
        auto f = work->create_file(io, "data.txt");
        if (!f) return f.error();
        Closer<File> close_f{io, *f};
        if (auto r = f->write_all(io, "the quick brown fox"); !r) return r;
        if (auto r = f->sync(io); !r) return r;
        if (auto r = f->close(io); !r) return r;
    }
    auto st = work->stat_file(io, "data.txt");
    if (!st) return st.error();
    if (st->size != 19) return Error(Errc::invalid_argument, Op::stat);
    {
        auto f = work->open_file(io, "data.txt");
        if (!f) return f.error();
        Closer<File> close_f{io, *f};
        auto text = f->read_to_string(io);
        if (!text) return text.error();
        if (*text != "the quick brown fox") return Error(Errc::invalid_argument, Op::read);
        if (auto r = f->close(io); !r) return r;
    }
    if (auto r = work->rename(io, "data.txt", *work, "final.txt"); !r) return r;
    auto entries = work->list(io);
    if (!entries) return entries.error();
    if (entries->size() != 1 || (*entries)[0].name != "final.txt") return Error(Errc::invalid_argument, Op::dir_read);
    if (auto r = work->delete_file(io, "final.txt"); !r) return r;
    if (auto r = work->close(io); !r) return r;
    if (auto r = root->delete_dir(io, "work"); !r) return r;
    return root->close(io);
}

constexpr std::size_t max_ops = 64;

struct Run {
    ErrInfo err;
    bool later_check_canceled = false;
    std::uint64_t ops = 0;
    bool fired = false;
    std::size_t trace_len = 0;
    std::array<TraceEntry, max_ops> trace{};
};

enum class Plan { none, fail, cancel };

template <class B>
Run run_workflow(const std::string& root, Plan plan, std::uint64_t k) {
    Run out;
    B rt;
    FaultIo fio(rt.io());
    if (plan == Plan::fail) fio.fail_at(k, Errc::system, EIO);
    if (plan == Plan::cancel) fio.cancel_at(k);
    out.err = info_of(workflow(fio.io(), root));
    out.ops = fio.operations();
    if (!out.err.failed) out.later_check_canceled = !fio.io().check_cancel().has_value();
    out.fired = fio.fired();
    auto t = fio.trace();
    out.trace_len = t.size();
    for (std::size_t i = 0; i < t.size() && i < max_ops; ++i) out.trace[i] = t[i];
    return out;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("faults: a workflow fails cleanly at every operation (EIO) and when cancelled there", "[faults]", Backends) {
    TempDir tmp;
    Run clean;
    auto clean_leak = measure<TestType>([&] { clean = run_workflow<TestType>(tmp.path(), Plan::none, 0); });
    REQUIRE_NO_LEAK(clean_leak);
    REQUIRE_FALSE(clean.err.failed);
    REQUIRE(clean.ops == clean.trace_len);
    REQUIRE(clean.ops >= 15);
    REQUIRE(clean.ops <= max_ops);
    CHECK_FALSE(clean.later_check_canceled);
    CHECK(std::filesystem::is_empty(tmp.path()));
    for (std::size_t i = 0; i < clean.ops; ++i) CHECK_FALSE(clean.trace[i].injected);

    for (std::uint64_t k = 1; k <= clean.ops; ++k) {
        const Op kth = clean.trace[k - 1].op;
        INFO("k = " << k << " of " << clean.ops << ", op " << op_name(kth));
        {
            TempDir dir;
            Run r;
            auto leak = measure<TestType>([&] { r = run_workflow<TestType>(dir.path(), Plan::fail, k); });
            REQUIRE_NO_LEAK(leak);
            CHECK(r.fired);
            REQUIRE_OS_ERROR(r.err, std::errc::io_error, kth);
            REQUIRE(r.trace_len >= k);
            CHECK(r.trace[k - 1].injected);
            CHECK(r.trace[k - 1].op == kth);
            for (std::uint64_t i = 0; i + 1 < k; ++i) CHECK(r.trace[i] == clean.trace[i]);
        }
        {
            TempDir dir;
            Run r;
            auto leak = measure<TestType>([&] { r = run_workflow<TestType>(dir.path(), Plan::cancel, k); });
            REQUIRE_NO_LEAK(leak);
            // Where the k-th operation is a close it runs; the request is delivered at the next cancel
            // point, which is the next operation that is not a close (or a later check_cancel).
            std::uint64_t deliver = k;
            while (deliver <= clean.ops && clean.trace[deliver - 1].op == Op::close) ++deliver;
            if (deliver > clean.ops) {
                CHECK_FALSE(r.err.failed);
                CHECK(r.later_check_canceled);
            } else {
                REQUIRE_ZSYNC_ERROR(r.err, Errc::canceled, clean.trace[deliver - 1].op);
                CHECK(r.trace[deliver - 1].injected);
                CHECK(r.trace[deliver - 1].outcome == Errc::canceled);
                for (std::uint64_t i = 0; i + 1 < deliver; ++i) CHECK(r.trace[i] == clean.trace[i]);
            }
            CHECK(r.fired);
        }
    }
}

TEMPLATE_LIST_TEST_CASE("faults: FaultIo traces outcomes and counts batch operations one by one", "[faults]", Backends) {
    TempDir tmp;
    std::string missing = tmp / "missing";
    std::size_t len = 0;
    std::array<TraceEntry, 8> trace{};
    std::uint64_t count = 0, after_reset = 99;
    bool fired_before = true, fired_after = false;
    ErrInfo b0, b1, b2;
    auto leak = measure<TestType>([&] {
        TestType rt;
        FaultIo fio(rt.io());
        Io io = fio.io();
        (void)Dir::cwd().stat_file(io, missing);  // 1: a real ENOENT
        (void)io.yield();                          // 2
        fio.fail_at(4, Errc::timeout);
        fired_before = fio.fired();
        FileStat st;
        Operation ops[] = {Operation::yield(), Operation::stat_at(cwd_handle, missing, st), Operation::nop()};
        io.batch(ops);                             // 3, 4 (injected), 5
        b0 = info_of(ops[0].result);
        b1 = info_of(ops[1].result);
        b2 = info_of(ops[2].result);
        fired_after = fio.fired();
        count = fio.operations();
        auto t = fio.trace();
        len = t.size();
        for (std::size_t i = 0; i < t.size() && i < trace.size(); ++i) trace[i] = t[i];
        fio.reset();
        after_reset = fio.operations() + fio.trace().size() + (fio.fired() ? 1 : 0);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(len == 5);
    CHECK(count == 5);
    CHECK(trace[0] == TraceEntry{Op::stat, Errc::system, ENOENT, false});
    CHECK(trace[1] == TraceEntry{Op::yield, Errc::ok, 0, false});
    CHECK(trace[2] == TraceEntry{Op::yield, Errc::ok, 0, false});
    CHECK(trace[3] == TraceEntry{Op::stat, Errc::timeout, 0, true});
    CHECK(trace[4] == TraceEntry{Op::nop, Errc::ok, 0, false});
    CHECK_FALSE(fired_before);
    CHECK(fired_after);
    CHECK_FALSE(b0.failed);
    REQUIRE_ZSYNC_ERROR(b1, Errc::timeout, Op::stat);
    CHECK_FALSE(b2.failed);
    CHECK(after_reset == 0);
}

TEMPLATE_LIST_TEST_CASE("faults: an injected cancel waits for protection, recancel re-arms it, close runs", "[faults][cancel]", Backends) {
    TempDir tmp;
    std::string path = tmp / "f";
    bool shielded_1 = false, shielded_2 = false, fired_in_shield = true, close_ok = false, released = false, final_ok = false;
    ErrInfo after_shield, rearmed, after_close;
    bool fail_close_released = false;
    ErrInfo fail_close;
    auto leak = measure<TestType>([&] {
        TestType rt;
        {
            FaultIo fio(rt.io());
            Io io = fio.io();
            fio.cancel_at(1);
            {
                CancelShield shield(io);
                shielded_1 = io.yield().has_value();   // 1: the request arrives, held by the shield
                shielded_2 = io.check_cancel().has_value();
                fired_in_shield = fio.fired();
            }
            after_shield = info_of(io.yield());        // 2: delivered here
            io.recancel();
            rearmed = info_of(io.check_cancel());      // re-armed, delivered again
            final_ok = io.check_cancel().has_value();
        }
        {
            FaultIo fio(rt.io());
            Io io = fio.io();
            auto f = File::create(io, path);           // 1
            if (!f) return;
            Handle h = f->handle;
            fio.cancel_at(2);
            close_ok = f->close(io).has_value();       // 2: close runs anyway
            released = ::fcntl(h, F_GETFD) == -1;
            after_close = info_of(io.yield());         // 3: the request is delivered here
        }
        {
            FaultIo fio(rt.io());
            Io io = fio.io();
            auto f = File::create(io, path);           // 1
            if (!f) return;
            Handle h = f->handle;
            fio.fail_at(2, Errc::system, EIO);
            fail_close = info_of(f->close(io));        // 2: fails, but the handle is released
            fail_close_released = ::fcntl(h, F_GETFD) == -1;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(shielded_1);
    CHECK(shielded_2);
    CHECK_FALSE(fired_in_shield);
    REQUIRE_ZSYNC_ERROR(after_shield, Errc::canceled, Op::yield);
    REQUIRE_ZSYNC_ERROR(rearmed, Errc::canceled, Op::check_cancel);
    CHECK(final_ok);
    CHECK(close_ok);
    CHECK(released);
    REQUIRE_ZSYNC_ERROR(after_close, Errc::canceled, Op::yield);
    REQUIRE_OS_ERROR(fail_close, std::errc::io_error, Op::close);
    CHECK(fail_close_released);
}
