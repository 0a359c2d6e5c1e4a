// The frame ABI of docs/frame-abi.md, proven with a frame written by hand the way zsync-gen will write
// it: the same function runs as plain code on BlockingIo and as a frame driven by drive_frame, under
// the same faults, and must give the same result and the same trace of operations.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>
#include <string>
#include <type_traits>
#include "leak_check.hpp"
import zsync;
import zsync.testing;
#include "frame_runner.hpp"

using namespace std::chrono_literals;

namespace {

int live_tokens = 0;
// An object with a destructor that is alive across every suspension of the function below.
struct Token {
    Token() { ++live_tokens; }
    Token(const Token&) = delete;
    ~Token() { --live_tokens; }
};

// The plain function: sleeps `n` times and counts the sleeps that completed.
zsync::Result<int> count_sleeps(zsync::Io io, int n) {
    Token t;
    int done = 0;
    for (int i = 0; i < n; ++i) {
        if (auto r = io.sleep_until(zsync::Deadline::after(1ms)); !r) return r.error();
        ++done;
    }
    return done;
}

// Its frame, as the generator would emit it: state index, parameters, the locals alive across the
// suspension (t, done, i), the pending Operation, and the result.
struct CountSleepsFrame {
    using Args = zsync::TaskArgs<decltype(&count_sleeps), zsync::Io, int>;
    int state = 0;
    zsync::Io io;
    int n;
    int i = 0, done = 0;
    alignas(Token) std::byte t[sizeof(Token)];
    zsync::Operation op;
    alignas(zsync::Result<int>) std::byte result[sizeof(zsync::Result<int>)];
    bool has_result = false;

    Token* token() { return reinterpret_cast<Token*>(t); }

    static void init(void* mem, void* args) noexcept {
        auto* a = static_cast<Args*>(args);
        auto* f = ::new (mem) CountSleepsFrame;
        f->io = std::get<0>(a->args);
        f->n = std::get<1>(a->args);
        std::destroy_at(a);
    }
    static zsync::Operation* resume(void* mem) noexcept {
        auto* f = static_cast<CountSleepsFrame*>(mem);
        switch (f->state) {
        case 0:
            ::new (f->t) Token;
            for (f->i = 0; f->i < f->n; ++f->i) {
                f->op = zsync::Operation::sleep_until(zsync::Deadline::after(1ms));
                f->state = 1;
                return &f->op;
        case 1:
                if (!f->op.result) { f->finish(f->op.result.error()); return nullptr; }
                ++f->done;
            }
            f->finish(f->done);
            return nullptr;
        }
        return nullptr;
    }
    void finish(zsync::Result<int> r) {
        std::destroy_at(token());
        ::new (result) zsync::Result<int>(std::move(r));
        has_result = true;
        state = 2;
    }
    static void take_result(void* mem, void* out) noexcept {
        auto* f = static_cast<CountSleepsFrame*>(mem);
        auto* r = reinterpret_cast<zsync::Result<int>*>(f->result);
        ::new (out) zsync::Result<int>(std::move(*r));
        std::destroy_at(r);
        f->has_result = false;
    }
    static void destroy(void* mem) noexcept {
        auto* f = static_cast<CountSleepsFrame*>(mem);
        if (f->state == 1) std::destroy_at(f->token());  // suspended: the token is alive
        if (f->has_result) std::destroy_at(reinterpret_cast<zsync::Result<int>*>(f->result));
        std::destroy_at(f);
    }
};

constexpr zsync::FrameDescriptor count_sleeps_frame{
    zsync::frame_abi_version, sizeof(CountSleepsFrame), alignof(CountSleepsFrame), 0,
    sizeof(CountSleepsFrame::Args), alignof(CountSleepsFrame::Args), zsync::type_signature<CountSleepsFrame::Args>(),
    &CountSleepsFrame::init, &CountSleepsFrame::resume, &CountSleepsFrame::take_result,
    &CountSleepsFrame::destroy, "count_sleeps",
};
zsync::FrameRegistration count_sleeps_registration{zsync::function_identity(&count_sleeps), &count_sleeps_frame};
const bool registered = zsync::register_frame(count_sleeps_registration);

zsync::Result<int> run_as_frame(zsync::Io io, int n) {
    alignas(CountSleepsFrame) std::byte memory[sizeof(CountSleepsFrame)];
    CountSleepsFrame::Args args{&count_sleeps, {io, n}};
    alignas(zsync::Result<int>) std::byte result[sizeof(zsync::Result<int>)];
    const zsync::FrameDescriptor* d = zsync::find_frame(zsync::function_identity(&count_sleeps));
    if (!d) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run);
    zsync::drive_frame(io, *d, memory, &args, result);
    auto* r = reinterpret_cast<zsync::Result<int>*>(result);
    zsync::Result<int> out(std::move(*r));
    std::destroy_at(r);
    return out;
}

}  // namespace

TEST_CASE("frame abi: registry finds the generated frame by function address", "[frame_abi]") {
    REQUIRE(registered);
    CHECK(zsync::find_frame(zsync::function_identity(&count_sleeps)) == &count_sleeps_frame);
    CHECK(zsync::find_frame(zsync::function_identity(&run_as_frame)) == nullptr);
    STATIC_REQUIRE(count_sleeps_frame.size == sizeof(CountSleepsFrame));
}

TEST_CASE("frame abi: a frame of another ABI version is refused", "[frame_abi]") {
    static constexpr zsync::FrameDescriptor old{
        zsync::frame_abi_version + 1, 8, 8, 0, 0, 0, 0, nullptr, nullptr, nullptr, nullptr, "old"};
    static zsync::FrameRegistration entry{zsync::function_identity(&run_as_frame), &old};
    CHECK_FALSE(zsync::register_frame(entry));
    CHECK(zsync::find_frame(zsync::function_identity(&run_as_frame)) == nullptr);
}

TEST_CASE("frame abi: frame and plain function agree under every fault", "[frame_abi]") {
    zsync::BlockingIo rt;
    // Without faults: both count three sleeps.
    auto plain = rt.run(count_sleeps, 3);
    auto frame = run_as_frame(rt.io(), 3);
    REQUIRE(plain);
    REQUIRE(frame);
    CHECK(*plain == 3);
    CHECK(*frame == 3);
    CHECK(live_tokens == 0);

    for (std::uint64_t k = 1; k <= 3; ++k) {
        for (bool cancel : {false, true}) {
            zsync::testing::FaultIo fp(rt.io()), ff(rt.io());
            if (cancel) { fp.cancel_at(k); ff.cancel_at(k); }
            else { fp.fail_at(k, zsync::Errc::system, 5); ff.fail_at(k, zsync::Errc::system, 5); }
            auto a = count_sleeps(fp.io(), 3);
            auto b = run_as_frame(ff.io(), 3);
            INFO("k=" << k << " cancel=" << cancel);
            REQUIRE_FALSE(a);
            REQUIRE_FALSE(b);
            CHECK(a.error() == b.error());
            CHECK(a.error().op() == zsync::Op::sleep);
            CHECK(a.error().code() == (cancel ? zsync::Errc::canceled : zsync::Errc::system));
            CHECK(fp.trace() == ff.trace());
            CHECK(fp.trace().size() == k);
            CHECK(live_tokens == 0);
        }
    }
}

TEST_CASE("frame abi: destroying a suspended frame destroys its live locals once", "[frame_abi]") {
    zsync::BlockingIo rt;
    auto before = zsync::test::usage_now();
    alignas(CountSleepsFrame) std::byte memory[sizeof(CountSleepsFrame)];
    CountSleepsFrame::Args args{&count_sleeps, {rt.io(), 5}};
    count_sleeps_frame.init(memory, &args);
    zsync::Operation* op = count_sleeps_frame.resume(memory);
    const bool waiting_on_sleep = op && op->code == zsync::Op::sleep;
    const int live_while_suspended = live_tokens;
    count_sleeps_frame.destroy(memory);
    auto after = zsync::test::usage_now();
    CHECK(waiting_on_sleep);
    CHECK(live_while_suspended == 1);
    CHECK(live_tokens == 0);
    CHECK(before == after);
}

namespace {
// A function whose registered frame was built for another parameter list (int vs long: the same size
// and alignment, another signature), as a stale object file would leave it. Its frame must never run.
int mismatched(zsync::Io, int v) { return v; }
using MismatchedArgs = zsync::TaskArgs<decltype(&mismatched), zsync::Io, long>;
constexpr zsync::FrameDescriptor mismatched_frame{
    zsync::frame_abi_version, sizeof(CountSleepsFrame), alignof(CountSleepsFrame), 0,
    sizeof(MismatchedArgs), alignof(MismatchedArgs), zsync::type_signature<MismatchedArgs>(),
    &CountSleepsFrame::init, &CountSleepsFrame::resume, &CountSleepsFrame::take_result, &CountSleepsFrame::destroy,
    "frame_abi::mismatched",
};
zsync::FrameRegistration mismatched_registration{zsync::function_identity(&mismatched), &mismatched_frame};
const bool mismatched_registered = zsync::register_frame(mismatched_registration);

// One whose frame reads a smaller block (a parameter fewer).
int shorter(zsync::Io, int a, int b) { return a + b; }
using ShorterArgs = zsync::TaskArgs<decltype(&shorter), zsync::Io, int>;
constexpr zsync::FrameDescriptor shorter_frame{
    zsync::frame_abi_version, sizeof(CountSleepsFrame), alignof(CountSleepsFrame), 0,
    sizeof(ShorterArgs), alignof(ShorterArgs), zsync::type_signature<ShorterArgs>(),
    &CountSleepsFrame::init, &CountSleepsFrame::resume, &CountSleepsFrame::take_result, &CountSleepsFrame::destroy,
    "frame_abi::shorter",
};
zsync::FrameRegistration shorter_registration{zsync::function_identity(&shorter), &shorter_frame};
const bool shorter_registered = zsync::register_frame(shorter_registration);
}  // namespace

TEST_CASE("frame abi: the task's argument block is the frame's, however the function is named", "[frame_abi]") {
    // What io.async builds for count_sleeps by name, and what the frame's init reads.
    using Block = zsync::frame_args<&count_sleeps>::type;
    STATIC_REQUIRE(std::is_same_v<Block, CountSleepsFrame::Args>);
    zsync::BlockingIo rt;
    zsync::test::FrameRunner runner(rt.io());
    zsync::Io io = runner.io();
    auto by_name = io.async(count_sleeps, 2).await(io);
    auto by_address = io.async(&count_sleeps, 1).await(io);
    REQUIRE(by_name);
    REQUIRE(by_address);
    CHECK(*by_name == 2);
    CHECK(*by_address == 1);
    CHECK(runner.frames_driven == 2);
    CHECK(live_tokens == 0);
}

TEST_CASE("frame abi: a frame that reads another argument block is refused, naming the function", "[frame_abi]") {
    REQUIRE(mismatched_registered);
    REQUIRE(shorter_registered);
    zsync::BlockingIo rt;
    zsync::test::FrameRunner runner(rt.io());
    zsync::Io io = runner.io();
    const int tokens_before = live_tokens;
    auto r = io.async(mismatched, 7).await(io);
    REQUIRE_FALSE(r);
    CHECK(r.error() == zsync::Error(zsync::Errc::frame_mismatch, zsync::Op::async));
    CHECK(runner.refused == 1);
    CHECK(runner.frames_driven == 0);
    CHECK(live_tokens == tokens_before);  // the frame's init never ran
    CHECK(runner.last_refusal.find("frame_abi::mismatched") != std::string::npos);
    CHECK(runner.last_refusal.find("signature") != std::string::npos);

    auto s = io.async(shorter, 1, 2).await(io);
    REQUIRE_FALSE(s);
    CHECK(s.error().code() == zsync::Errc::frame_mismatch);
    CHECK(runner.last_refusal.find("frame_abi::shorter") != std::string::npos);
    CHECK(runner.refused == 2);
    // The same functions still run everywhere else: a stackful backend never looks frames up.
    auto plain = rt.io().async(mismatched, 7).await(rt.io());
    REQUIRE(plain);
    CHECK(*plain == 7);
}
