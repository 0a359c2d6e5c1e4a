// A write that cannot pass MSG_NOSIGNAL (File::write on a socket) to a peer that is gone reports EPIPE
// on every backend instead of killing the process with SIGPIPE (the backends ignore SIGPIPE while it
// has its default action). Before that rule this test's process died.
#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("net: File::write to a socket whose peer is gone is EPIPE, not SIGPIPE", "[net][errors]", Backends) {
    ErrInfo err;
    auto leak = measure<TestType>([&] {
        TestType rt;
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return;
        ::close(fds[1]);
        err = info_of(File{fds[0]}.write_all(rt.io(), "nobody reads this"));
        ::close(fds[0]);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_OS_ERROR(err, std::errc::broken_pipe, Op::write);
}
