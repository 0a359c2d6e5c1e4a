// A minimal zsync TCP echo server for the echo benchmark (bench_net_client runs it).
//
//   bench_echo_zsync [--port 0] [--workers 1]
//
// ThreadPoolIo with --workers workers; rt.run starts the accept loop as a task on a worker; every
// accepted connection gets its own echo task with Group::concurrent (io.concurrent semantics: a thread
// of its own, since a read blocks the thread it runs on). TCP_NODELAY on every connection (as in the
// Asio peer and the client). Prints `listening on 127.0.0.1:PORT` first (the same first line as the
// samples), then serves until killed. Loopback only.
#include <cstdint>
#include <cstdio>
#include <span>
#include "bench_common.hpp"
import zsync;

namespace {

zsync::Result<void> echo(zsync::Io io, zsync::TcpStream s) {
    (void)s.set_option(io, zsync::SocketOption::no_delay, 1);
    static thread_local std::byte buf[65536];
    zsync::Result<void> out;
    for (;;) {
        auto n = s.read(io, std::span(buf));
        if (!n) { out = n.error(); break; }
        if (*n == 0) break;
        if (auto w = s.write_all(io, std::span<const std::byte>(buf, *n)); !w) { out = w.error(); break; }
    }
    (void)s.close(io);
    return out;
}

zsync::Result<void> serve(zsync::Io io, zsync::TcpListener listener) {
    zsync::Group g;
    for (;;) {
        auto a = listener.accept(io);
        if (!a) return a.error();
        if (auto r = g.concurrent(io, echo, a->stream); !r) {
            std::fprintf(stderr, "echo task: %s\n", r.error().message().c_str());
            (void)a->stream.close(io);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const auto port = std::uint16_t(args.num("--port", 0));
    zsync::ThreadPoolIo rt({.workers = unsigned(args.num("--workers", 1))});
    zsync::Io io = rt.io();
    auto l = zsync::TcpListener::listen(io, zsync::IpAddress::v4_loopback(port));
    if (!l) { std::fprintf(stderr, "listen: %s\n", l.error().message().c_str()); return 1; }
    auto at = l->local_address(io);
    if (!at) { std::fprintf(stderr, "local_address: %s\n", at.error().message().c_str()); return 1; }
    std::printf("listening on %s\n", at->to_string().c_str());
    std::fflush(stdout);
    auto r = rt.run(serve, *l);
    if (!r) std::fprintf(stderr, "serve: %s\n", r.error().message().c_str());
    return r ? 0 : 1;
}
