// 10,000 loopback TCP connections echoed on GreenThreadsIo: an acceptor fiber and one server fiber per
// connection in this process; the clients in a child process (fork) on a plain epoll loop of its own.
//
// Why a child: 10,000 connections are 20,000 descriptors, and the machines this runs on have a hard
// RLIMIT_NOFILE of exactly 20,000 (an unprivileged process may not raise it); each side alone needs
// 10,000. Both raise the soft limit to the hard one; when that is still too low the case WARNs with the
// limit and returns without asserting anything (never a silent pass of the echo checks).
//
// Protocol (each step can fail the case):
//   1. the child connects `window` clients at a time; each sends its own message at once (its index,
//      then bytes that depend on the index and the position; 200..3,199 bytes), non-blocking;
//   2. its server fiber echoes what it reads; the client checks every byte as it comes back and then
//      holds the connection open (any further byte, or an end of stream, is a mismatch);
//   3. once every client has its echo (so all 10,000 server fibers are alive at once: `peak`), each
//      client shuts down its write side; its server reads the end of the stream and closes; the
//      client must then see the end of the stream and closes.
// Descriptors, threads and allocations are counted before and after here (no_leak, thread_count); the
// child counts its own descriptors and reports them with its results through a pipe.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cerrno>
#include "child_report.hpp"
#include <cstring>
#include <string>
#include "green_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

namespace {

std::size_t msg_size(std::size_t i) { return 200 + (i * 7919) % 3000; }
// Byte j of connection i's message: the index (4 bytes, so crossed connections are caught), then a
// pattern of i and j.
std::byte msg_byte(std::size_t i, std::size_t j) {
    if (j < 4) return static_cast<std::byte>((i >> (8 * j)) & 0xff);
    return static_cast<std::byte>((i * 131 + j * 7 + (j >> 8) + 1) & 0xff);
}

// Raises the soft descriptor limit to the hard one; "" when `need` fits, else why not.
std::string make_fd_room(rlim_t need) {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
        (void)::getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need) return "";
    return "RLIMIT_NOFILE: hard limit " + std::to_string(rl.rlim_max) + ", soft " + std::to_string(rl.rlim_cur) + ", but each process of this test needs " +
           std::to_string(need) + " descriptors; raise the hard limit (ulimit -Hn) to run it";
}

// ---- the client side (the child process; plain syscalls, one thread) ------------------------------

struct ClientReport {  // trivially copyable: written through a pipe
    long connected = 0, verified = 0, eof_seen = 0, closed = 0, mismatched = 0, errors = 0;
    int first_errno = 0;
    int first_stage = 0;  // 1 socket/connect, 2 send, 3 recv, 4 shutdown, 5 epoll
    bool finished = false;
    int fds_before = 0, fds_after = 0;
};

struct Client {
    int fd = -1;
    std::size_t sent = 0, got = 0;
    enum : std::uint8_t { idle, connecting, echoing, held, closing, done } state = idle;
};

void client_error(ClientReport& r, int stage, int err) {
    if (r.errors++ == 0) {
        r.first_errno = err;
        r.first_stage = stage;
    }
}

void run_clients(std::uint16_t port, std::size_t n, std::chrono::seconds limit, ClientReport& r) {
    r.fds_before = open_fd_count();
    const auto end = std::chrono::steady_clock::now() + limit;
    std::vector<Client> cs(n);
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { client_error(r, 5, errno); return; }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    constexpr std::size_t window = 256;  // connects in flight (the accept queue is bounded by somaxconn)
    std::size_t next = 0, connecting = 0, settled = 0;  // settled: verified or failed
    bool shut = false;
    std::vector<epoll_event> evs(512);
    std::byte scratch[8192];
    auto drop = [&](Client& c, int stage, int err) {
        client_error(r, stage, err);
        if (c.state == Client::connecting) --connecting;
        if (c.state == Client::connecting || c.state == Client::echoing) ++settled;
        ::close(c.fd);
        c.fd = -1;
        c.state = Client::done;
    };
    auto want = [&](std::size_t i, std::uint32_t events) {
        epoll_event e{};
        e.events = events;
        e.data.u64 = i;
        if (::epoll_ctl(ep, EPOLL_CTL_MOD, cs[i].fd, &e) != 0) drop(cs[i], 5, errno);
    };
    auto send_some = [&](std::size_t i) {
        Client& c = cs[i];
        const std::size_t size = msg_size(i);
        while (c.sent < size) {
            std::byte out[4096];
            std::size_t k = std::min(sizeof out, size - c.sent);
            for (std::size_t j = 0; j < k; ++j) out[j] = msg_byte(i, c.sent + j);
            ssize_t w = ::send(c.fd, out, k, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN) return;
                return drop(c, 2, errno);
            }
            c.sent += static_cast<std::size_t>(w);
        }
        want(i, EPOLLIN);  // all sent: only the echo (and nothing after it) is expected now
    };
    auto receive = [&](std::size_t i) {
        Client& c = cs[i];
        const std::size_t size = msg_size(i);
        for (;;) {
            ssize_t got = ::recv(c.fd, scratch, sizeof scratch, 0);
            if (got < 0) {
                if (errno == EAGAIN) return;
                return drop(c, 3, errno);
            }
            if (got == 0) {  // end of stream: expected only after our shutdown
                if (c.state != Client::closing) {
                    ++r.mismatched;
                    return drop(c, 3, 0);
                }
                ++r.eof_seen;
                ::close(c.fd);
                c.fd = -1;
                ++r.closed;
                c.state = Client::done;
                return;
            }
            for (ssize_t j = 0; j < got; ++j) {
                if (c.state != Client::echoing || c.got >= size || scratch[j] != msg_byte(i, c.got)) {
                    ++r.mismatched;
                    return drop(c, 3, 0);
                }
                ++c.got;
            }
            if (c.got == size) {
                c.state = Client::held;
                ++r.verified;
                ++settled;
            }
        }
    };
    auto open_next = [&] {
        std::size_t i = next++;
        Client& c = cs[i];
        c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c.fd < 0) {
            client_error(r, 1, errno);
            c.state = Client::done;
            ++settled;
            return;
        }
        c.state = Client::connecting;
        ++connecting;
        if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) return drop(c, 1, errno);
        epoll_event e{};
        e.events = EPOLLOUT;
        e.data.u64 = i;
        if (::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e) != 0) return drop(c, 5, errno);
    };
    while (std::chrono::steady_clock::now() < end) {
        while (next < n && connecting < window) open_next();
        if (!shut && settled == n) {  // step 3: every echo is in (or failed); all are still open
            shut = true;
            for (Client& c : cs) {
                if (c.state != Client::held) continue;
                if (::shutdown(c.fd, SHUT_WR) != 0) {
                    drop(c, 4, errno);
                    continue;
                }
                c.state = Client::closing;
            }
        }
        if (shut && r.closed + r.errors >= static_cast<long>(n)) break;
        if (shut) {
            bool open = false;
            for (const Client& c : cs) open = open || c.fd >= 0;
            if (!open) break;
        }
        int k = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
        if (k < 0) {
            if (errno == EINTR) continue;
            client_error(r, 5, errno);
            break;
        }
        for (int e = 0; e < k; ++e) {
            std::size_t i = evs[static_cast<std::size_t>(e)].data.u64;
            Client& c = cs[i];
            if (c.fd < 0) continue;
            if (c.state == Client::connecting) {
                int err = 0;
                socklen_t len = sizeof err;
                if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
                if (err) { drop(c, 1, err); continue; }
                --connecting;
                ++r.connected;
                c.state = Client::echoing;
                want(i, EPOLLIN | EPOLLOUT);
                if (c.fd >= 0) send_some(i);
                if (c.fd >= 0) receive(i);
                continue;
            }
            if (c.state == Client::echoing && c.sent < msg_size(i) && (evs[static_cast<std::size_t>(e)].events & EPOLLOUT)) send_some(i);
            if (c.fd >= 0 && (evs[static_cast<std::size_t>(e)].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) receive(i);
        }
    }
    r.finished = shut && r.closed + r.errors >= static_cast<long>(n);
    for (Client& c : cs)
        if (c.fd >= 0) ::close(c.fd);
    ::close(ep);
    cs.clear();
    cs.shrink_to_fit();
    r.fds_after = open_fd_count();
}

// ---- the server side (this process, on GreenThreadsIo) -------------------------------------------

struct ServerStats {
    std::atomic<long> accepted{0}, active{0}, peak{0}, eof_closed{0}, errors{0};
    std::atomic<long long> bytes{0};
    std::atomic<bool> has_error{false};
    Error first_error{};  // written once, by whoever sets has_error first; read after every fiber ended
    void error(const Error& e) {
        errors.fetch_add(1);
        if (!has_error.exchange(true)) first_error = e;
    }
};

void serve(Io io, TcpStream s, ServerStats* st) {
    long now = st->active.fetch_add(1) + 1;
    for (long p = st->peak.load(); now > p && !st->peak.compare_exchange_weak(p, now);) {
    }
    std::byte buf[4096];
    for (;;) {
        auto n = s.read(io, buf);
        if (!n) { st->error(n.error()); break; }
        if (*n == 0) { st->eof_closed.fetch_add(1); break; }
        if (auto w = s.write_all(io, std::span<const std::byte>(buf, *n)); !w) { st->error(w.error()); break; }
        st->bytes.fetch_add(static_cast<long long>(*n));
    }
    st->active.fetch_sub(1);
    (void)s.close(io);
}

struct Run {
    bool listening = false, forked = false, child_reported = false, acceptor_ok = false;
    int child_status = -1;
    ClientReport client{};
    long accepted = 0, peak = 0, eof_closed = 0, server_errors = 0;
    long long bytes = 0;
    bool has_error = false;
    Error first_error{};
};

// A loopback listener made with plain syscalls (it must exist before the fork); -1 on failure.
int listen_loopback(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    return fd;
}

Run echo_connections(std::size_t n, std::chrono::seconds limit) {
    Run run;
    std::uint16_t port = 0;
    int lfd = listen_loopback(port);
    if (lfd < 0) return run;
    run.listening = true;
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) {
        ::close(lfd);
        return run;
    }
    pid_t pid = ::fork();
    if (pid == 0) {  // the child: never returns into Catch2
        ::close(report[0]);
        ::close(lfd);
        ClientReport r;
        run_clients(port, n, limit, r);
        zsync_test::send_report_and_exit(report[1], r);
    }
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        ::close(lfd);
        return run;
    }
    run.forked = true;
    ServerStats st;
    {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        Io io = rt.io();
        TcpListener l;
        l.handle = lfd;
        Group servers;
        auto acceptor = io.concurrent([&st, &servers, &l, n](Io cio) -> Result<void> {
            for (std::size_t i = 0; i < n; ++i) {
                auto a = l.accept(cio);
                if (!a) return a.error();
                st.accepted.fetch_add(1);
                if (auto s = servers.concurrent(cio, serve, a->stream, &st); !s) {
                    (void)a->stream.close(cio);
                    return s.error();
                }
            }
            return {};
        });
        // The child's report (this thread is not a worker: the fibers run meanwhile).
        char* p = reinterpret_cast<char*>(&run.client);
        std::size_t got = 0;
        auto end = std::chrono::steady_clock::now() + limit + 10s;
        while (got < sizeof run.client && std::chrono::steady_clock::now() < end) {
            pollfd pf{report[0], POLLIN, 0};
            if (::poll(&pf, 1, 100) <= 0) continue;
            ssize_t k = ::read(report[0], p + got, sizeof run.client - got);
            if (k <= 0) break;
            got += static_cast<std::size_t>(k);
        }
        run.child_reported = got == sizeof run.client;
        ::close(report[0]);
        if (!run.child_reported) ::kill(pid, SIGKILL);
        ::waitpid(pid, &run.child_status, 0);  // its sockets are closed now: every server read ends
        if (acceptor) {
            auto a = acceptor->cancel(io);  // done already unless the child failed to connect them all
            run.acceptor_ok = a.has_value();
        }
        if (run.child_reported && run.client.finished) (void)servers.await(io);
        else servers.cancel(io);
        (void)l.close(io);
    }
    run.accepted = st.accepted.load();
    run.peak = st.peak.load();
    run.eof_closed = st.eof_closed.load();
    run.server_errors = st.errors.load();
    run.bytes = st.bytes.load();
    run.has_error = st.has_error.load();
    run.first_error = st.first_error;
    return run;
}

}  // namespace

TEST_CASE("green stress: 10,000 loopback TCP connections, a server fiber each, every byte echoed and checked", "[green][stress][net]") {
    std::size_t n = 10'000;
    if (const char* e = std::getenv("ZSYNC_GREEN_CONNECTIONS")) n = static_cast<std::size_t>(std::atoll(e));
    // Each process: its own descriptors now, one per connection, and some room (driver, pipes, epoll).
    if (std::string why = make_fd_room(static_cast<rlim_t>(open_fd_count()) + n + 64); !why.empty()) {
        WARN("SKIPPED: " << why);
        return;
    }
    long long want_bytes = 0;
    for (std::size_t i = 0; i < n; ++i) want_bytes += static_cast<long long>(msg_size(i));
    Run r;
    int threads_before = 0, threads_after = 0;
    auto t0 = std::chrono::steady_clock::now();
    bool clean = no_leak([&] {
        threads_before = thread_count();
        r = echo_connections(n, 100s);
        threads_after = thread_count();
    });
    const double ms = ms_since(t0);
    std::printf("green connections: %zu connections echoed in %.0f ms (peak %ld server fibers at once)\n", n, ms, r.peak);
    const ClientReport& c = r.client;
    INFO("server's first error: " << (r.has_error ? r.first_error.message() : std::string("none")) << "; client's first error: stage "
                                  << c.first_stage << ", " << (c.first_errno ? std::strerror(c.first_errno) : "none (a mismatch, or no error)"));
    REQUIRE(r.listening);
    REQUIRE(r.forked);
    REQUIRE(r.child_reported);
    CHECK(WIFEXITED(r.child_status));
    CHECK(WEXITSTATUS(r.child_status) == 0);  // e.g. a sanitizer report in the child exits non-zero
    CHECK(c.finished);
    CHECK(c.errors == 0);
    CHECK(c.mismatched == 0);
    CHECK(c.connected == static_cast<long>(n));
    CHECK(c.verified == static_cast<long>(n));  // every byte of every connection came back, in order
    CHECK(c.eof_seen == static_cast<long>(n));  // and then its server closed, nothing more
    CHECK(c.closed == static_cast<long>(n));
    CHECK(c.fds_after == c.fds_before);          // the child's side
    CHECK(r.acceptor_ok);
    CHECK(r.accepted == static_cast<long>(n));
    CHECK(r.peak == static_cast<long>(n));       // all the server fibers were alive at once
    CHECK(r.eof_closed == static_cast<long>(n));
    CHECK(r.server_errors == 0);
    CHECK(r.bytes == want_bytes);
    CHECK(threads_after == threads_before);
    CHECK(clean);                                // this side: descriptors and allocations
}
