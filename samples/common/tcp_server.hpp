// What the sample TCP servers share: the accept loop, listening, the signal thread, argument parsing.
// Each server supplies only its connection handler. Include after `import zsync;`.
//
// Concurrency: each connection is served by a task on its own unit of concurrency (Group::concurrent),
// because a task blocked in a read holds the thread it runs on (docs/net.md, "On ThreadPoolIo").
// Where that is unavailable (always on BlockingIo; on ThreadPoolIo past its max_concurrent threads)
// the accept loop serves the connection itself, so connections are served one at a time there.
// `max_connections` bounds the connections served at once. Past it a new client is accepted and
// refused at once by the server's `refuse` function (http_server: 503 with Retry-After; echo_server:
// close), instead of being left in the listen backlog until it times out; how many were refused is
// logged at most once per second. The listen backlog is `backlog` (SOMAXCONN by default; the kernel
// caps it at net.core.somaxconn).
//
// Shutdown: SIGINT/SIGTERM are blocked in every thread and taken by a thread in sigwait, which sets
// `stopping` and requests cancellation of the backend's foreground task (the accept loop). The loop
// then cancels and joins its connection tasks and closes the listener. The flag is needed because a
// cancellation is delivered once, and on BlockingIo it may land in a connection served inline.
#pragma once
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <pthread.h>
#include <sys/socket.h>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace sample {

struct Server {
    const char* name = "server";             // in messages
    std::string bind = "127.0.0.1";
    std::uint16_t port = 0;                  // 0: any
    unsigned max_connections = 256;          // served at once
    int backlog = SOMAXCONN;                 // listen(2) backlog
    std::atomic<std::uint32_t> active{0};    // connections being served (a futex word)
    std::atomic<bool> stopping{false};       // set by the signal thread before it cancels the loop
    // Refusals past max_connections (accept loop only): the count since the last log line, and when.
    unsigned long refused = 0;
    std::chrono::steady_clock::time_point refused_logged{};
};

// Answers a client past the connection limit and closes the stream (called by the accept loop: must
// not wait long). Null: just close.
using Refuse = void (*)(zsync::Io, zsync::TcpStream);

// Refuses `s` and logs, at most once per second, how many were refused.
inline void refuse_connection(zsync::Io io, zsync::TcpStream s, Server* srv, Refuse refuse) {
    if (refuse) refuse(io, s);
    else (void)s.close(io);
    ++srv->refused;
    auto now = std::chrono::steady_clock::now();
    if (now - srv->refused_logged >= std::chrono::seconds(1)) {
        std::fprintf(stderr, "%s: refused %lu connection(s) past --max-connections %u\n", srv->name, srv->refused, srv->max_connections);
        srv->refused = 0;
        srv->refused_logged = now;
    }
}

// A connection's errors that are its peer's doing or the server's shutdown: not reported.
inline bool quiet_error(const zsync::Error& e) {
    return e.canceled() || e.is(zsync::Errc::timeout) || e.is(std::errc::connection_reset) || e.is(std::errc::broken_pipe);
}

// Serves one connection and closes the stream; `Ctx` is the server's own state.
template <class Ctx>
using Handler = zsync::Result<void> (*)(zsync::Io, zsync::TcpStream, Ctx*);

// One connection's task: the handler, then count the connection out and wake the accept loop.
template <class Ctx>
zsync::Result<void> connection(zsync::Io io, zsync::TcpStream s, Server* srv, Handler<Ctx> handle, Ctx* ctx) {
    auto r = handle(io, s, ctx);
    srv->active.fetch_sub(1);
    io.futex_wake(srv->active, 1);
    if (!r && !quiet_error(r.error())) std::fprintf(stderr, "%s: connection: %s\n", srv->name, r.error().message().c_str());
    return {};  // a connection's failure is not the server's
}

// Accepts until cancelled (or stopping), starting a task per connection; past the limit, refuses.
template <class Ctx>
zsync::Result<void> accept_loop(zsync::Io io, zsync::TcpListener listener, Server* srv, Handler<Ctx> handle, Ctx* ctx,
                                Refuse refuse) {
    zsync::Group connections;  // cancelled and joined below, and by its destructor on any early return
    zsync::Result<void> out;
    while (!srv->stopping.load()) {
        auto accepted = listener.accept(io);
        if (!accepted) {
            if (accepted.error().canceled()) break;
            // Transient accept failures (a reset before accept, fd exhaustion): report and go on.
            std::fprintf(stderr, "%s: accept: %s\n", srv->name, accepted.error().message().c_str());
            if (auto s = io.sleep(std::chrono::milliseconds(10)); !s) break;
            continue;
        }
        if (srv->active.load() >= srv->max_connections) {
            refuse_connection(io, accepted->stream, srv, refuse);
            continue;
        }
        const bool others = srv->active.fetch_add(1) > 0;
        auto started = connections.concurrent(io, connection<Ctx>, accepted->stream, srv, handle, ctx);
        if (!started) {
            srv->active.fetch_sub(1);
            if (!started.error().is(zsync::Errc::concurrency_unavailable)) {
                std::fprintf(stderr, "%s: cannot start a connection task: %s\n", srv->name, started.error().message().c_str());
                (void)accepted->stream.close(io);
                continue;
            }
            // No unit of concurrency. With other connections being served concurrently (the backend's
            // thread limit, reached just before `active` says so), refuse; with none (BlockingIo),
            // serve it here, one at a time.
            if (others) {
                refuse_connection(io, accepted->stream, srv, refuse);
                continue;
            }
            srv->active.fetch_add(1);
            (void)connection<Ctx>(io, accepted->stream, srv, handle, ctx);  // served here, one at a time
        }
    }
    connections.cancel(io);
    (void)listener.close(io);
    return out;
}

// Listens, prints "listening on ADDR:PORT" (the first stdout line: tests and benchmarks read the port
// from it), serves until a signal.
template <class Ctx>
zsync::Result<void> listen_and_serve(zsync::Io io, Server* srv, Handler<Ctx> handle, Ctx* ctx, Refuse refuse = nullptr) {
    auto addr = zsync::IpAddress::parse(srv->bind, srv->port);
    if (!addr) return addr.error();
    auto listener = zsync::TcpListener::listen(io, *addr, srv->backlog);
    if (!listener) return listener.error();
    auto at = listener->local_address(io);
    if (!at) {
        (void)listener->close(io);
        return at.error();
    }
    std::printf("listening on %s\n", at->to_string().c_str());
    std::fflush(stdout);
    return accept_loop(io, *listener, srv, handle, ctx, refuse);
}

// Blocks SIGINT/SIGTERM in this thread and every thread it starts from now on (call before the
// backend starts its threads), so that only the sigwait of run_until_signal receives them.
inline sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

// Runs f(io, args...) on `rt` until it returns or a stop signal cancels it. Returns the exit status.
template <class Backend, class F, class... A>
int run_until_signal(Backend& rt, Server& srv, const sigset_t& stop_signals, F&& f, A&&... args) {
    std::atomic<bool> done{false};
    std::thread stopper([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (done.load()) return;  // woken by this function after the server ended on its own
        srv.stopping.store(true);
        rt.request_cancel();
    });
    auto r = rt.run(std::forward<F>(f), std::forward<A>(args)...);
    done.store(true);
    if (!srv.stopping.load()) pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    if (!r && !r.error().canceled()) {
        std::fprintf(stderr, "%s: %s\n", srv.name, r.error().message().c_str());
        return 1;
    }
    std::fprintf(stderr, "%s: stopped\n", srv.name);
    return 0;
}

// A decimal number in [0, max]; false for anything else.
inline bool parse_unsigned(const char* s, unsigned long max, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return false;
    out = v;
    return true;
}

}  // namespace sample
