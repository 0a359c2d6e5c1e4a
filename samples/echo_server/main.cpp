// A TCP echo server as plain functions taking Io: every byte a client sends comes back until it closes
// its end. The same functions run on every backend; --backend picks one.
//
// Concurrency: each connection is served by a task on its own unit of concurrency (Group::concurrent),
// because a task blocked in a read holds the thread it runs on (docs/net.md, "On ThreadPoolIo").
// Where that is unavailable (always on BlockingIo; on ThreadPoolIo past its max_concurrent threads)
// the accept loop serves the connection itself, so connections are served one at a time there.
// --max-connections bounds the connections served at once: at the limit the accept loop waits (on a
// futex word the connection tasks wake when they end) and new clients wait in the listen backlog.
//
// Shutdown: SIGINT/SIGTERM are blocked in every thread and taken by a thread in sigwait, which sets
// `stopping` and requests cancellation of the backend's foreground task (the accept loop). The loop
// then cancels and joins its connection tasks and closes the listener.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
import zsync;

namespace {

struct Config {
    std::string backend = "blocking";
    std::string bind = "127.0.0.1";
    std::uint16_t port = 0;
    unsigned max_connections = 256;
    unsigned workers = 0;      // pool workers; 0: one per CPU
    unsigned idle_timeout = 0;  // seconds without data before a connection is closed; 0: never
};

struct Shared {
    const Config* config = nullptr;
    std::atomic<std::uint32_t> active{0};  // connections being served (a futex word)
    std::atomic<bool> stopping{false};     // set by the signal thread before it cancels the loop
};

zsync::Deadline idle_deadline(const Config& c) {
    return c.idle_timeout ? zsync::Deadline::after(std::chrono::seconds(c.idle_timeout)) : zsync::Deadline::never();
}

// Echoes until the peer finishes (or an error, a timeout or cancellation), then closes the stream.
zsync::Result<void> echo(zsync::Io io, zsync::TcpStream stream, const Config& config) {
    std::byte buf[16384];
    zsync::Result<void> out;
    for (;;) {
        auto n = stream.read(io, buf, idle_deadline(config));
        if (!n) { out = n.error(); break; }
        if (*n == 0) break;
        if (auto w = stream.write_all(io, std::span(buf, *n), idle_deadline(config)); !w) { out = w; break; }
    }
    (void)stream.close(io);
    return out;
}

// One connection's task: echo, then count the connection out and wake the accept loop if it waits.
zsync::Result<void> connection(zsync::Io io, zsync::TcpStream stream, Shared* shared) {
    auto r = echo(io, stream, *shared->config);
    shared->active.fetch_sub(1);
    io.futex_wake(shared->active, 1);
    if (!r && !r.error().canceled() && !r.error().is(zsync::Errc::timeout) &&
        !r.error().is(std::errc::connection_reset) && !r.error().is(std::errc::broken_pipe))
        std::fprintf(stderr, "echo_server: connection: %s\n", r.error().message().c_str());
    return {};  // a connection's failure is not the server's
}

// Accepts until cancelled (or stopping), starting a task per connection.
zsync::Result<void> serve(zsync::Io io, zsync::TcpListener listener, Shared* shared) {
    zsync::Group connections;  // cancelled and joined below, and by its destructor on any early return
    zsync::Result<void> out;
    const std::uint32_t limit = shared->config->max_connections;
    while (!shared->stopping.load()) {
        // At the limit, wait for a connection to end (futex_wait returns early on any change; re-check).
        std::uint32_t now = shared->active.load();
        if (now >= limit) {
            if (auto w = io.futex_wait(shared->active, now); !w && !w.error().is(zsync::Errc::timeout)) {
                if (!w.error().canceled()) out = w;
                break;
            }
            continue;
        }
        auto accepted = listener.accept(io);
        if (!accepted) {
            if (accepted.error().canceled()) break;
            // Transient accept failures (a reset before accept, fd exhaustion): report and go on.
            std::fprintf(stderr, "echo_server: accept: %s\n", accepted.error().message().c_str());
            if (auto s = io.sleep(std::chrono::milliseconds(10)); !s) break;
            continue;
        }
        shared->active.fetch_add(1);
        auto started = connections.concurrent(io, connection, io, accepted->stream, shared);
        if (!started) {
            if (!started.error().is(zsync::Errc::concurrency_unavailable)) {
                std::fprintf(stderr, "echo_server: cannot start a connection task: %s\n", started.error().message().c_str());
                (void)accepted->stream.close(io);
                shared->active.fetch_sub(1);
                continue;
            }
            (void)connection(io, accepted->stream, shared);  // served here, one at a time
        }
    }
    connections.cancel(io);
    (void)listener.close(io);
    return out;
}

// Listens, prints the address, serves until a signal.
zsync::Result<void> run_server(zsync::Io io, Shared* shared) {
    const Config& c = *shared->config;
    auto addr = zsync::IpAddress::parse(c.bind, c.port);
    if (!addr) return addr.error();
    auto listener = zsync::TcpListener::listen(io, *addr);
    if (!listener) return listener.error();
    auto at = listener->local_address(io);
    if (!at) { (void)listener->close(io); return at.error(); }
    std::printf("listening on %s\n", at->to_string().c_str());
    std::fflush(stdout);
    return serve(io, *listener, shared);
}

// Blocks SIGINT/SIGTERM in this thread and every thread it starts from now on (call before the
// backend starts its threads), so that only sigwait below receives them.
sigset_t block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    return set;
}

template <class Backend, class... Opts>
int run_on(const Config& config, const sigset_t& stop_signals, Opts&&... opts) {
    Backend rt(std::forward<Opts>(opts)...);
    Shared shared;
    shared.config = &config;
    std::atomic<bool> done{false};
    std::thread stopper([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (done.load()) return;  // woken by main after the server ended on its own
        shared.stopping.store(true);
        rt.request_cancel();
    });
    auto r = rt.run(run_server, &shared);
    done.store(true);
    if (!shared.stopping.load()) pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
    if (!r && !r.error().canceled()) {
        std::fprintf(stderr, "echo_server: %s\n", r.error().message().c_str());
        return 1;
    }
    std::fprintf(stderr, "echo_server: stopped\n");
    return 0;
}

void usage() {
    std::fprintf(stderr,
                 "usage: echo_server [--backend blocking|pool] [--port N (0: any)] [--bind ADDR]\n"
                 "                   [--max-connections N] [--workers N] [--idle-timeout SECONDS (0: none)]\n"
                 "backends: blocking, pool\n");
}

bool parse_unsigned(const char* s, unsigned long max, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long v = std::strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max || s[0] == '-') return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        unsigned long v = 0;
        bool has = i + 1 < argc;
        if (a == "--backend" && has) c.backend = argv[++i];
        else if (a == "--bind" && has) c.bind = argv[++i];
        else if (a == "--port" && has && parse_unsigned(argv[++i], 65535, v)) c.port = static_cast<std::uint16_t>(v);
        else if (a == "--max-connections" && has && parse_unsigned(argv[++i], 1u << 20, v) && v > 0) c.max_connections = static_cast<unsigned>(v);
        else if (a == "--workers" && has && parse_unsigned(argv[++i], 1024, v)) c.workers = static_cast<unsigned>(v);
        else if (a == "--idle-timeout" && has && parse_unsigned(argv[++i], 1u << 20, v)) c.idle_timeout = static_cast<unsigned>(v);
        else if (a == "--list-backends") { std::puts("blocking\npool"); return 0; }
        else { usage(); return 2; }
    }
    sigset_t stop = block_stop_signals();
    if (c.backend == "blocking") return run_on<zsync::BlockingIo>(c, stop);
    if (c.backend == "pool")
        return run_on<zsync::ThreadPoolIo>(c, stop, zsync::ThreadPoolIo::Options{.workers = c.workers, .max_concurrent = c.max_connections});
    std::fprintf(stderr, "echo_server: unknown backend '%s'\n", c.backend.c_str());
    usage();
    return 2;
}
