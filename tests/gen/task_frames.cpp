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
