// 10,000 loopback TCP connections held at once and echoed by one thread, on both reactors, driven by a
// small loop in the test directly on the Driver (no scheduler).
//
// The server ends live in this process, on one Driver run by this thread: accept, recv, send, close are
// all Operations on it. The client ends live in a child process (fork), on a Driver of the same kind run
// by its one thread: socket, connect, send, recv, close. Why a second process: 10,000 connections are
// 20,000 descriptors, and a machine of the kind this runs on has a hard RLIMIT_NOFILE of exactly 20,000
// that an unprivileged (or containerised) process may not raise; each side alone needs 10,000. Both
// processes raise their soft limit to the hard one; if even one side does not fit, the test says why
// (WARN) and stops without passing anything.
//
// Phases:
//   1. connect: the child opens clients `window` at a time (the listener's backlog is bounded by
//      somaxconn; a SYN past a full accept queue is dropped and retried a second later), while 64 accepts
//      stay in flight here; every accepted socket at once parks a recv for its message.
//   2. echo: once all are connected, the child sends each client's own 64-byte message (N sends
//      submitted at once); its server receives all 64 bytes and sends them back; the client receives
//      them and compares byte for byte.
//   3. close: when every server has echoed (the descriptor count is sampled here: every connection is
//      open on both sides), the servers close first (TIME_WAIT then sits on the listener's side, not on
//      an ephemeral port); each client must see the end of its stream (a recv of 0), then closes.
// Descriptors and allocations are counted before and after on both sides (tests/support/leak_check.hpp);
// the child reports its figures, and its first error, through a pipe.
#include <catch2/catch.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "child_report.hpp"
#include "leak_check.hpp"
#include "reactor_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::reactor;

namespace {

constexpr std::size_t msg_size = 64;

// The message of connection i: its number, then bytes that depend on i and the position.
void fill_message(std::size_t i, std::byte* out) {
    char head[16];
    int n = std::snprintf(head, sizeof head, "conn %06zu ", i);
    for (std::size_t j = 0; j < msg_size; ++j)
        out[j] = j < static_cast<std::size_t>(n) ? static_cast<std::byte>(head[j]) : static_cast<std::byte>((i * 131 + j * 7 + 1) & 0xff);
}

// What one side saw. Trivially copyable: the child writes its own through a pipe.
struct Outcome {
    std::size_t connections = 0;  // connected (client) or accepted (server)
    std::size_t echoed = 0;       // client: echo verified byte for byte; server: message sent back
    std::size_t eof_seen = 0;     // client: the end of the stream after the server closed
    std::size_t closed = 0;
    std::size_t mismatched = 0;   // wrong bytes, a short send, an early or unexpected end of stream
    std::size_t errors = 0;
    bool has_error = false;
    Error first_error;
    int fds_while_held = 0;  // server: open descriptors with every connection open
    bool finished = false;   // every phase ended before the time limit
    bool drained = false;    // nothing in flight at the end
    Usage before{}, after{};  // client: measured in the child around its run
    bool room = true;         // client: the child could make room for its descriptors
};

template <class T>
Completion on(T* p, void (*fn)(std::uintptr_t, Operation&) noexcept) {
    return {fn, reinterpret_cast<std::uintptr_t>(p)};
}

bool failed(Outcome& out, Operation& op) {
    if (op.result) return false;
    if (!out.has_error) out.first_error = op.result.error();
    out.has_error = true;
    ++out.errors;
    return true;
}

// Turns d until cond(), a failure, or `end`; true when cond() held.
template <class Cond>
bool turn_until(Driver& d, Outcome& out, Deadline end, Cond&& cond) {
    while (!cond() && out.errors == 0 && out.mismatched == 0) {
        if (end.passed()) return false;
        d.run_until(Deadline::after(std::chrono::milliseconds(50)));
    }
    return cond();
}

// ---- the server side (this process) -------------------------------------------------------------

struct Servers;

struct ServerConn {
    Servers* side = nullptr;
    int fd = -1;
    Operation op;
    std::size_t got = 0, sent = 0;
    bool echoed = false, closed = false;
    std::byte buf[msg_size];
};

struct Acceptor {
    Servers* side = nullptr;
    Operation op;
};

struct Servers {
    Driver* driver = nullptr;  // set once the Driver exists (it is destroyed first: see serve())
    int listener;
    std::size_t n;
    Outcome& out;
    std::vector<ServerConn> conns;
    std::vector<Acceptor> acceptors;
    std::size_t accepts_started = 0, closes_done = 0;

    Servers(int l, std::size_t count, Outcome& o) : listener(l), n(count), out(o), conns(count), acceptors(64) {}
    Driver& d() { return *driver; }

    void start_accept(Acceptor& a) {
        a.side = this;
        ++accepts_started;
        a.op = Operation::accept(listener);
        d().submit(a.op, on(&a, &on_accept));
    }
    static void on_accept(std::uintptr_t w, Operation& op) noexcept {
        auto& a = *reinterpret_cast<Acceptor*>(w);
        Servers& s = *a.side;
        if (failed(s.out, op)) return;
        ServerConn& c = s.conns[s.out.connections++];
        c.side = &s;
        c.fd = static_cast<int>(*op.result);
        step(c);
        if (s.accepts_started < s.n) s.start_accept(a);
    }
    // Receive the whole message, then send it all back.
    static void step(ServerConn& c) {
        if (c.got < msg_size) c.op = Operation::recv(c.fd, bytes(c.buf + c.got, msg_size - c.got));
        else if (c.sent < msg_size) c.op = Operation::send(c.fd, std::span<const std::byte>(c.buf + c.sent, msg_size - c.sent));
        else {
            c.echoed = true;
            ++c.side->out.echoed;
            return;
        }
        c.side->d().submit(c.op, on(&c, &on_io));
    }
    static void on_io(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ServerConn*>(w);
        Outcome& out = c.side->out;
        if (failed(out, op)) return;
        std::size_t k = *op.result;
        if (c.got < msg_size) {
            if (k == 0) { ++out.mismatched; return; }  // the client went away before its message was complete
            c.got += k;
        } else {
            c.sent += k;
        }
        step(c);
    }
    static void on_close(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ServerConn*>(w);
        c.closed = true;
        ++c.side->closes_done;
        if (failed(c.side->out, op)) return;
        c.fd = -1;
        ++c.side->out.closed;
    }
};

// The server side on a fresh Driver of kind k. No Catch2 assertion inside (leak_check.hpp).
Outcome serve(Kind k, int listener, std::size_t n, Duration limit) {
    Outcome out;
    std::vector<int> leftover;  // descriptors a failed run still holds, closed once the Driver is gone
    // The state the completions use outlives the Driver: ~Driver runs the completions of what a failed
    // run left in flight.
    Servers s(listener, n, out);
    {
        Driver d({.kind = k});
        s.driver = &d;
        Deadline end = Deadline::after(limit);
        for (auto& a : s.acceptors)
            if (s.accepts_started < n) s.start_accept(a);
        bool ok = turn_until(d, out, end, [&] { return out.connections == n && out.echoed == n; });
        if (ok) {
            out.fds_while_held = open_fd_count();
            for (auto& c : s.conns) {
                c.op = Operation::close(c.fd);
                d.submit(c.op, on(&c, &Servers::on_close));
            }
            ok = turn_until(d, out, end, [&] { return s.closes_done == n; });
        }
        out.finished = ok;
        out.drained = d.in_flight() == 0 || !ok;
        if (!ok)
            for (auto& c : s.conns)
                if (c.fd >= 0 && !c.closed) leftover.push_back(c.fd);
    }  // ~Driver cancels what is still in flight and runs its completions
    for (int fd : leftover) ::close(fd);
    return out;
}

// ---- the client side (the child process) --------------------------------------------------------

struct Clients;

struct ClientConn {
    Clients* side = nullptr;
    std::size_t index = 0;
    int fd = -1;
    Operation op;
    std::size_t got = 0;
    bool verified = false, done = false;
    std::byte out[msg_size], in[msg_size];
};

struct Clients {
    Driver* driver = nullptr;  // set once the Driver exists (it is destroyed first: see connect_and_echo())
    const SocketAddress& addr;
    std::size_t n;
    Outcome& out;
    std::vector<ClientConn> conns;
    std::size_t next = 0, done = 0;

    Clients(const SocketAddress& a, std::size_t count, Outcome& o) : addr(a), n(count), out(o), conns(count) {}
    Driver& d() { return *driver; }

    void start_one() {
        ClientConn& c = conns[next];
        c.side = this;
        c.index = next++;
        fill_message(c.index, c.out);
        c.op = Operation::socket(AddressFamily::ipv4, SocketType::stream);
        d().submit(c.op, on(&c, &on_socket));
    }
    static void on_socket(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ClientConn*>(w);
        if (failed(c.side->out, op)) return;
        c.fd = static_cast<int>(*op.result);
        c.op = Operation::connect(c.fd, c.side->addr);
        c.side->d().submit(c.op, on(&c, &on_connect));
    }
    static void on_connect(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ClientConn*>(w);
        Clients& s = *c.side;
        if (failed(s.out, op)) return;
        ++s.out.connections;
        if (s.next < s.n) s.start_one();  // the window slides
    }
    static void on_send(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ClientConn*>(w);
        if (failed(c.side->out, op)) return;
        // A 64-byte send on an idle loopback connection is never short; a short one is reported.
        if (*op.result != msg_size) { ++c.side->out.mismatched; return; }
        receive(c);
    }
    // The rest of the echo; once verified, a recv that must give the end of the stream.
    static void receive(ClientConn& c) {
        if (c.verified) c.op = Operation::recv(c.fd, bytes(c.in, msg_size));
        else c.op = Operation::recv(c.fd, bytes(c.in + c.got, msg_size - c.got));
        c.side->d().submit(c.op, on(&c, &on_recv));
    }
    static void on_recv(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ClientConn*>(w);
        Outcome& out = c.side->out;
        if (failed(out, op)) return;
        std::size_t k = *op.result;
        if (!c.verified) {
            if (k == 0) { ++out.mismatched; return; }  // the stream ended before the echo came back
            c.got += k;
            if (c.got < msg_size) return receive(c);
            c.verified = true;
            if (std::memcmp(c.in, c.out, msg_size) != 0) { ++out.mismatched; return; }
            ++out.echoed;
            return receive(c);  // now wait for the server to close
        }
        if (k != 0) { ++out.mismatched; return; }  // bytes after the echo
        ++out.eof_seen;
        c.op = Operation::close(c.fd);
        c.side->d().submit(c.op, on(&c, &on_close));
    }
    static void on_close(std::uintptr_t w, Operation& op) noexcept {
        auto& c = *reinterpret_cast<ClientConn*>(w);
        c.done = true;
        ++c.side->done;
        if (failed(c.side->out, op)) return;
        c.fd = -1;
        ++c.side->out.closed;
    }
};

void connect_and_echo(Kind k, const SocketAddress& addr, std::size_t n, Duration limit, Outcome& out) {
    std::vector<int> leftover;
    Clients s(addr, n, out);  // outlives the Driver, as in serve()
    {
        Driver d({.kind = k});
        s.driver = &d;
        Deadline end = Deadline::after(limit);
        constexpr std::size_t window = 256;
        while (s.next < std::min(n, window)) s.start_one();
        bool ok = turn_until(d, out, end, [&] { return out.connections == n; });
        if (ok) {
            for (auto& c : s.conns) {
                c.op = Operation::send(c.fd, std::span<const std::byte>(c.out, msg_size));
                d.submit(c.op, on(&c, &Clients::on_send));
            }
            ok = turn_until(d, out, end, [&] { return s.done == n; });
        }
        out.finished = ok;
        out.drained = d.in_flight() == 0 || !ok;
        if (!ok)
            for (auto& c : s.conns)
                if (c.fd >= 0 && !c.done) leftover.push_back(c.fd);
    }
    for (int fd : leftover) ::close(fd);
}

// Makes room for `need` descriptors in this process (soft limit up to the hard one; the hard one too
// where the process may). Returns "" or why there is not enough room.
std::string make_fd_room(rlim_t need) {
    rlim_t soft = raise_fd_limit_to_hard();
    if (soft >= need) return "";
    rlimit rl{need, need};
    if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) return "";
    return "RLIMIT_NOFILE hard limit is " + std::to_string(soft) + ", each side of the test needs " + std::to_string(need) +
           " descriptors and this process may not raise the limit; raise it (ulimit -Hn) to run the test";
}
rlim_t fds_needed(std::size_t n) { return static_cast<rlim_t>(open_fd_count()) + n + 64; }

struct Both {
    Outcome server, client;
    bool child_reported = false;
    int child_status = -1;
};

// One run: the clients in a child process, the servers here; *before and *after are measured around
// serve() (the child measures its own side and reports it).
Both hold_and_echo(Kind k, std::size_t n, Duration limit, Usage* before = nullptr, Usage* after = nullptr) {
    Both b;
    Listener l(4096);  // the kernel caps the backlog at net.core.somaxconn
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return b;
    pid_t pid = ::fork();
    if (pid == 0) {
        // The child: one thread, its own Driver. It never returns into Catch2 (_exit).
        ::close(report[0]);
        ::close(l.fd);
        Outcome out;
        if (!make_fd_room(fds_needed(n)).empty()) {
            out.room = false;
        } else {
            out.before = usage_now();
            connect_and_echo(k, l.addr, n, limit, out);
            out.after = usage_now();
        }
        zsync_test::send_report_and_exit(report[1], out);
    }
    ::close(report[1]);
    if (pid < 0) {
        ::close(report[0]);
        return b;
    }
    if (before) *before = usage_now();
    b.server = serve(k, l.fd, n, limit);
    if (after) *after = usage_now();
    // The child's report: it ends at most a few seconds after the servers closed (or its own limit).
    char* p = reinterpret_cast<char*>(&b.client);
    std::size_t got = 0;
    Deadline end = Deadline::after(limit + std::chrono::seconds(10));
    while (got < sizeof b.client && !end.passed()) {
        pollfd pf{report[0], POLLIN, 0};
        if (::poll(&pf, 1, 100) <= 0) continue;
        ssize_t r = ::read(report[0], p + got, sizeof b.client - got);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    b.child_reported = got == sizeof b.client;
    ::close(report[0]);
    if (!b.child_reported) ::kill(pid, SIGKILL);
    ::waitpid(pid, &b.child_status, 0);
    return b;
}

std::string describe(const Outcome& o) {
    return o.has_error ? o.first_error.message() : std::string("none");
}

}  // namespace

TEST_CASE("reactor: 10,000 loopback TCP connections held and echoed by one thread", "[reactor][connections]") {
    Kind k = REACTOR_KINDS;
    std::size_t n = 10'000;
    if (const char* e = std::getenv("ZSYNC_REACTOR_CONNECTIONS")) n = static_cast<std::size_t>(std::atoll(e));
    if (std::string why = make_fd_room(fds_needed(n)); !why.empty()) {
        WARN("SKIPPED: " << why);
        return;
    }
    INFO("reactor " << kind_name(k) << ", " << n << " connections");
    Both warm = hold_and_echo(k, 64, std::chrono::seconds(20));  // warm-up: lazy statics, thread-local state
    REQUIRE(warm.child_reported);
    REQUIRE(warm.server.finished);
    Usage before{}, after{};
    Both b = hold_and_echo(k, n, std::chrono::seconds(60), &before, &after);
    REQUIRE(b.child_reported);
    if (!b.client.room) {
        WARN("SKIPPED: the child process could not make room for " << n << " descriptors");
        return;
    }
    const Outcome& s = b.server;
    const Outcome& c = b.client;
    INFO("server's first error: " << describe(s) << "; client's first error: " << describe(c));
    CHECK(WIFEXITED(b.child_status));
    CHECK(WEXITSTATUS(b.child_status) == 0);  // e.g. a sanitizer report in the child exits non-zero
    CHECK(s.errors == 0);
    CHECK(c.errors == 0);
    CHECK(s.mismatched == 0);
    CHECK(c.mismatched == 0);
    CHECK(s.finished);
    CHECK(c.finished);
    CHECK(c.connections == n);
    CHECK(s.connections == n);
    CHECK(s.echoed == n);
    CHECK(c.echoed == n);    // every connection echoed its own message, byte for byte
    CHECK(c.eof_seen == n);  // and then saw its server close, nothing more
    CHECK(s.closed == n);
    CHECK(c.closed == n);
    CHECK(s.fds_while_held >= before.fds + static_cast<int>(n));  // all of them were open at once
    CHECK(s.drained);
    CHECK(c.drained);
    CHECK(after == before);        // the server side: descriptors and allocations
    CHECK(c.after == c.before);    // the client side, measured in the child
}
