// An echo server written directly on the reactor (zsync:reactor), single-threaded: the peer of
// bench_echo_asio for the reactor's figures (docs/benchmarks.md, "Reactor"). One Driver; per connection
// a recv into a 64 KiB buffer, then send of what was read (looping on short sends), then recv again;
// completions chain the next Operation. TCP_NODELAY on every connection. Prints
// `listening on 127.0.0.1:PORT` first, then serves until killed.
//
//   bench_echo_reactor [--port 0] [--reactor uring|epoll]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cstdio>
#include <memory>
#include <span>
#include <string_view>
#include "bench_common.hpp"
import zsync;

namespace {

using namespace zsync;
namespace zr = zsync::reactor;

struct Server;

struct Conn {
    Server* server;
    int fd;
    Operation op;
    std::size_t have = 0, sent = 0;
    std::byte buf[65536];
    void recv();
    void send();
    static void on_recv(std::uintptr_t w, Operation& op) noexcept;
    static void on_send(std::uintptr_t w, Operation& op) noexcept;
};

struct Server {
    zr::Driver driver;
    int listener;
    Operation accept_op;
    explicit Server(zr::Options o) : driver(o) {}
    void accept() { accept_op = Operation::accept(listener); driver.submit(accept_op, {&Server::on_accept, reinterpret_cast<std::uintptr_t>(this)}); }
    static void on_accept(std::uintptr_t w, Operation& op) noexcept {
        auto* s = reinterpret_cast<Server*>(w);
        if (op.result) {
            int fd = static_cast<int>(*op.result);
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto* c = new Conn{s, fd, {}, 0, 0, {}};
            c->recv();
        }
        s->accept();
    }
};

void Conn::recv() {
    op = Operation::recv(fd, buf);
    server->driver.submit(op, {&Conn::on_recv, reinterpret_cast<std::uintptr_t>(this)});
}
void Conn::send() {
    op = Operation::send(fd, std::span<const std::byte>(buf + sent, have - sent));
    server->driver.submit(op, {&Conn::on_send, reinterpret_cast<std::uintptr_t>(this)});
}
void Conn::on_recv(std::uintptr_t w, Operation& op) noexcept {
    auto* c = reinterpret_cast<Conn*>(w);
    if (!op.result || *op.result == 0) { ::close(c->fd); delete c; return; }
    c->have = *op.result;
    c->sent = 0;
    c->send();
}
void Conn::on_send(std::uintptr_t w, Operation& op) noexcept {
    auto* c = reinterpret_cast<Conn*>(w);
    if (!op.result) { ::close(c->fd); delete c; return; }
    c->sent += *op.result;
    if (c->sent < c->have) return c->send();
    c->recv();
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    zr::Options o;
    std::string_view k = args.get("--reactor", "");
    if (k == "uring") o.kind = zr::Kind::uring;
    else if (k == "epoll") o.kind = zr::Kind::epoll;
    Server server(o);
    server.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(server.listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(args.num("--port", 0)));
    if (::bind(server.listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(server.listener, 1024) != 0) {
        std::perror("bind/listen");
        return 1;
    }
    socklen_t len = sizeof a;
    ::getsockname(server.listener, reinterpret_cast<sockaddr*>(&a), &len);
    std::printf("listening on 127.0.0.1:%u\n", unsigned(ntohs(a.sin_port)));
    std::fprintf(stderr, "reactor: %.*s\n", int(zr::kind_name(server.driver.kind()).size()), zr::kind_name(server.driver.kind()).data());
    std::fflush(stdout);
    server.accept();
    for (;;) server.driver.run_until(Deadline::never());
}
