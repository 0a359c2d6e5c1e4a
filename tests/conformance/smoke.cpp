#include <catch2/catch.hpp>
#include <string>
#include "leak_check.hpp"
import zsync;

TEST_CASE("smoke: async inline on BlockingIo", "[smoke]") {
    zsync::BlockingIo rt;
    auto r = rt.run([](zsync::Io io) -> zsync::Result<int> {
        auto f = io.async([](int a, int b) { return a + b; }, 2, 3);
        auto v = f.await(io);
        if (!v) return v.error();
        auto again = f.await(io);
        if (again || again.error().code() != zsync::Errc::already_awaited) return -1;
        return *v;
    });
    REQUIRE(r);
    CHECK(*r == 5);
}
