// Tasks started by name reach their frames: io.async(f, args...) on an Io that runs frames (the test
// FrameRunner, which does what a stackless backend does) carries f's identity, builds the argument
// block from f's parameter types, and find_frame(const TaskStart&) finds the generated frame and
// accepts the block; the frame is driven and gives what the plain function gives.
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include "leak_check.hpp"
#include "programs.hpp"
import zsync;
import zsync.testing;
#include "frame_runner.hpp"
#include <memory>
#include <new>
#include <tuple>
#include <type_traits>
#include "backends.hpp"

TEST_CASE("tasks by name: io.async(f, ...) finds f's frame and drives it, with converted arguments", "[gen][task_frames]") {
    zsync::BlockingIo rt;
    zsync::testing::FaultIo counted(rt.io());
    zsync::test::FrameRunner runner(counted.io());
    zsync::Io io = runner.io();
    // "saveA.txt" -> std::string_view, "xyz" -> std::string, 2 -> int: none is the parameter's type.
    auto fut = io.async(progs::named_task, "saveA.txt", "xyz", 2);
    auto r = fut.await(io);
    INFO((r ? std::string("ok") : r.error().message()) << " / " << runner.last_refusal);
    REQUIRE(r);
    CHECK(*r == std::string_view("saveA.txt").size() + 2 * 3);
    CHECK(runner.frames_driven == 1);
    CHECK(runner.stackful_runs == 0);
    CHECK(runner.refused == 0);
    // The frame's two yields were returned to the runner, which performed them on the inner Io.
    CHECK(counted.operations() == 2);
    // The same through a pointer and through a reference: one identity, one frame.
    auto* ptr = &progs::named_task;
    auto& ref = progs::named_task;
    auto by_ptr = io.async(ptr, std::string_view("ab"), std::string("c"), 1).await(io);
    auto by_ref = io.async(ref, "ab", "cd", 1).await(io);
    REQUIRE(by_ptr);
    REQUIRE(by_ref);
    CHECK(*by_ptr == 3);
    CHECK(*by_ref == 4);
    CHECK(runner.frames_driven == 3);
    // A cancellation reaches the frame at its first yield, as it would the plain function.
    zsync::testing::FaultIo faulty(rt.io());
    faulty.cancel_at(1);
    zsync::test::FrameRunner cancelling(faulty.io());
    auto c = cancelling.io().async(progs::named_task, "x", "y", 3).await(cancelling.io());
    REQUIRE_FALSE(c);
    CHECK(c.error() == zsync::Error(zsync::Errc::canceled, zsync::Op::yield));
    CHECK(cancelling.frames_driven == 1);
}

TEST_CASE("tasks by name: a function without a frame runs its stackful start", "[gen][task_frames]") {
    zsync::BlockingIo rt;
    zsync::test::FrameRunner runner(rt.io());
    // progs::leaf is only ever embedded (not annotated): it has no registered frame.
    auto r = runner.io().async(progs::leaf, std::string("tag"), 2).await(runner.io());
    REQUIRE(r);
    CHECK(runner.frames_driven == 0);
    CHECK(runner.stackful_runs == 1);
}

namespace {
// Drives await_all's frame on `io` with the executor loop of docs/frame-abi.md, counting the waits
// it returns for tasks and groups.
struct Driven {
    zsync::Result<int> result{zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run)};
    int task_waits = 0, group_waits = 0, other = 0;
};
Driven drive_await_all(zsync::Io io, int n) {
    Driven out;
    const zsync::FrameDescriptor* d = zsync::find_frame(zsync::function_identity(&progs::await_all));
    if (!d) return out;
    void* memory = ::operator new(d->size, std::align_val_t(d->align));
    zsync::frame_args<&progs::await_all>::type block{&progs::await_all, {io, n}};
    d->init(memory, &block);
    while (zsync::Operation* op = d->resume(memory)) {
        if (op->code == zsync::Op::wait_task) ++out.task_waits;
        else if (op->code == zsync::Op::wait_group) ++out.group_waits;
        else ++out.other;
        io.operate(*op);
    }
    alignas(zsync::Result<int>) std::byte r[sizeof(zsync::Result<int>)];
    d->take_result(memory, r);
    d->destroy(memory);
    ::operator delete(memory, std::align_val_t(d->align));
    auto* res = std::launder(reinterpret_cast<zsync::Result<int>*>(r));
    out.result = std::move(*res);
    std::destroy_at(res);
    return out;
}
}  // namespace

TEMPLATE_TEST_CASE("frames wait for tasks and groups as Operations, on every backend", "[gen][task_frames]",
                   zsync::BlockingIo, zsync::test::PoolOf<1>, zsync::test::PoolOf<2>) {
    constexpr int n = 4;
    TestType rt;
    const int expected = 2 * (1 + 2 + 3 + 4);
    auto plain = progs::await_all(rt.io(), n);
    REQUIRE(plain);
    CHECK(*plain == expected);
    for (int round = 0; round < 20; ++round) {
        Driven d = drive_await_all(rt.io(), n);
        INFO("round " << round);
        REQUIRE(d.result);
        CHECK(*d.result == expected);
        if constexpr (std::is_same_v<TestType, zsync::BlockingIo>) {
            // Every task ran inline: nothing to wait for, the frame never suspends on a task.
            CHECK(d.task_waits == 0);
            CHECK(d.group_waits == 0);
        } else {
            // Queued tasks: each await is a wait_task the frame returned and the pool performed.
            CHECK(d.task_waits == n);
            CHECK(d.group_waits <= 1);
        }
        CHECK(d.other == 0);  // the children's yields are theirs, performed on their own threads or inline
    }
}
