// A connected pair of Unix stream sockets made with plain syscalls, closed at the end of the scope
// (the tests' peer ends for poll, recv and close cases). Include after <catch2/catch.hpp>.
#pragma once
#include <sys/socket.h>
#include <unistd.h>

namespace zsync::test {

struct SocketPair {
    int a = -1, b = -1;
    SocketPair() {
        int p[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0);
        a = p[0];
        b = p[1];
    }
    ~SocketPair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
    SocketPair(const SocketPair&) = delete;
    SocketPair& operator=(const SocketPair&) = delete;
    void close_a() { ::close(a); a = -1; }
};

}  // namespace zsync::test
