// Linked only into the `*_boostctx` test programs (tests/CMakeLists.txt, zsync_boost_switch_variant):
// fails unless their fibers really switch through Boost.Context (platform-asm/context_boost_abi.cpp),
// i.e. unless the link took the three zsync_ctx_* symbols from there and not from the assembly.
#include <catch2/catch.hpp>
#include <atomic>
import zsync;

extern "C" std::atomic<bool> zsync_boost_abi_used;

TEST_CASE("boostctx: this program's fibers switch with Boost.Context", "[switch_check]") {
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = 1});
    auto r = rt.run([](zsync::Io io) { return io.yield().has_value(); });
    REQUIRE(r);
    REQUIRE(*r);
    REQUIRE(zsync_boost_abi_used.load());
}
