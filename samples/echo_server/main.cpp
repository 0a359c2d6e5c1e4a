// A TCP echo server as plain functions taking Io: every byte a client sends comes back until it closes
// its end. The same functions run on every backend; --backend picks one. The accept loop, connection
// limit and signal handling are shared with http_server (samples/common/tcp_server.hpp).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
import zsync;
#include "tcp_server.hpp"

namespace {

struct Config {
    std::string backend = "blocking";
    unsigned workers = 0;       // pool workers; 0: one per CPU
    unsigned idle_timeout = 0;  // seconds without data before a connection is closed; 0: never
};

zsync::Deadline idle_deadline(const Config& c) {
    return c.idle_timeout ? zsync::Deadline::after(std::chrono::seconds(c.idle_timeout)) : zsync::Deadline::never();
}

// Echoes until the peer finishes (or an error, a timeout or cancellation), then closes the stream.
zsync::Result<void> echo(zsync::Io io, zsync::TcpStream stream, const Config* config) {
    std::byte buf[16384];
    zsync::Result<void> out;
    for (;;) {
        auto n = stream.read(io, buf, idle_deadline(*config));
        if (!n) { out = n.error(); break; }
        if (*n == 0) break;
        if (auto w = stream.write_all(io, std::span(buf, *n), idle_deadline(*config)); !w) { out = w; break; }
    }
    (void)stream.close(io);
    return out;
}

zsync::Result<void> run_server(zsync::Io io, sample::Server* srv, const Config* config) {
    return sample::listen_and_serve(io, srv, echo, config);
}

template <class Backend, class... Opts>
int run_on(sample::Server& srv, const Config& config, const sigset_t& stop, Opts&&... opts) {
    Backend rt(std::forward<Opts>(opts)...);
    return sample::run_until_signal(rt, srv, stop, run_server, &srv, &config);
}

void usage() {
    std::fprintf(stderr,
                 "usage: echo_server [--backend blocking|pool|green] [--port N (0: any)] [--bind ADDR]\n"
                 "                   [--max-connections N] [--workers N] [--idle-timeout SECONDS (0: none)]\n"
                 "                   [--backlog N]\n"
                 "--max-connections: connections served at once (default 256); past it a client is closed at\n"
                 "                   once. The blocking backend serves ONE connection at a time (use --backend pool)\n"
                 "--backlog:         listen backlog (default SOMAXCONN; the kernel caps it at net.core.somaxconn)\n"
                 "backends: blocking, pool, green (fibers on io_uring/epoll)\n");
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    sample::Server srv;
    srv.name = "echo_server";
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        unsigned long v = 0;
        bool has = i + 1 < argc;
        if (a == "--backend" && has) c.backend = argv[++i];
        else if (a == "--bind" && has) srv.bind = argv[++i];
        else if (a == "--port" && has && sample::parse_unsigned(argv[++i], 65535, v)) srv.port = static_cast<std::uint16_t>(v);
        else if (a == "--max-connections" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) srv.max_connections = static_cast<unsigned>(v);
        else if (a == "--workers" && has && sample::parse_unsigned(argv[++i], 1024, v)) c.workers = static_cast<unsigned>(v);
        else if (a == "--idle-timeout" && has && sample::parse_unsigned(argv[++i], 1u << 20, v)) c.idle_timeout = static_cast<unsigned>(v);
        else if (a == "--backlog" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) srv.backlog = static_cast<int>(v);
        else if (a == "--list-backends") { std::puts("blocking\npool\ngreen"); return 0; }
        else { usage(); return 2; }
    }
    sigset_t stop = sample::block_stop_signals();
    if (c.backend == "blocking") {
        std::fprintf(stderr, "echo_server: the blocking backend serves one connection at a time (--backend pool serves them concurrently)\n");
        return run_on<zsync::BlockingIo>(srv, c, stop);
    }
    // A few threads beyond the limit: see http_server.
    if (c.backend == "pool")
        return run_on<zsync::ThreadPoolIo>(srv, c, stop, zsync::ThreadPoolIo::Options{.workers = c.workers, .max_concurrent = srv.max_connections + 8});
    // green: one fiber per connection (its stack from a pool), workers as --workers says.
    if (c.backend == "green")
        return run_on<zsync::GreenThreadsIo>(srv, c, stop, zsync::GreenThreadsIo::Options{.workers = c.workers});
    std::fprintf(stderr, "echo_server: unknown backend '%s'\n", c.backend.c_str());
    usage();
    return 2;
}
