// Functions written as plain code and annotated for zsync-gen, each compared with its own frame by the
// differential harness (differential.hpp) under every fault, and destroyed at every suspension point.
// Together they cover what part 1 of the generator supports (issue 5 §3): every loop form, if/switch,
// early return, break/continue, nested scopes, locals with destructors alive across suspensions
// (Tracked, std::string, std::vector, std::unique_ptr), suspending callees nested five deep with
// overlapping storage, default arguments, reference and span parameters, Result propagation, and
// lambdas that do not suspend.
//
// This file is compiled through zsync-gen (zsync_stackless in CMakeLists.txt); the frames exist only
// in the generated copy, next to the object file. Nothing here may use the generated frames at compile
// time (the generator parses this file before they exist): gen_tests.cpp drives them through the
// registry.
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include "programs.hpp"
#include "tracked.hpp"
import zsync;

using namespace std::chrono_literals;
using gen_test::Tracked;

namespace progs {

// ---- loops -------------------------------------------------------------------------------------

[[clang::annotate("zsync::stackless")]]
Result<int> for_loop(Io io, int n) {
    Tracked outer(100);
    int sum = 0;
    for (int i = 0; i < n; ++i) {
        Tracked inner(i);
        auto r = io.yield();
        if (!r) return r.error();
        sum += inner.value() + outer.value();
    }
    return sum;
}

[[clang::annotate("zsync::stackless")]]
Result<int> while_and_do(Io io, int n) {
    int i = 0, total = 0;
    Tracked a(1);
    while (i < n) {
        std::string s = "a string that is longer than the small buffer " + std::to_string(i);
        auto r = io.yield();
        if (!r) return r.error();
        total += static_cast<int>(s.size());
        ++i;
    }
    do {
        Tracked b(2);
        auto r = io.sleep(0ms);
        if (!r) return r.error();
        total += b.value();
    } while (--i > 0);
    return total;
}

[[clang::annotate("zsync::stackless")]]
Result<long> range_for(Io io, int n) {
    std::vector<Tracked> items;
    for (int i = 0; i < n; ++i) items.emplace_back(i * 10);
    long sum = 0;
    for (const Tracked& t : items) {
        auto r = io.yield();
        if (!r) return r.error();
        sum += t.value();
    }
    for (Tracked t : items) {  // by value: a copy alive across the suspension
        auto r = io.yield();
        if (!r) return r.error();
        sum += t.value();
    }
    return sum;
}

[[clang::annotate("zsync::stackless")]]
Result<int> break_and_continue(Io io, int n) {
    int seen = 0;
    for (int i = 0; i < n; ++i) {
        Tracked t(i);
        if (i % 2 == 1) continue;  // leaves t's scope without a suspension in between
        auto r = io.yield();
        if (!r) return r.error();
        if (i == 4) break;
        seen += t.value();
    }
    int j = 0;
    while (true) {
        Tracked u(j);
        auto r = io.yield();
        if (!r) return r.error();
        if (++j == 3) break;
        if (j == 1) continue;
        seen += u.value();
    }
    return seen;
}

// ---- branches, scopes, early return --------------------------------------------------------------

[[clang::annotate("zsync::stackless")]]
Result<std::string> branches(Io io, int mode) {
    std::string out = "start/";
    if (mode > 1) {
        Tracked t(mode);
        auto r = io.yield();
        if (!r) return r.error();
        out += "big/";
    } else if (mode == 1) {
        auto r = io.sleep(0ms);
        if (!r) return r.error();
        out += "one/";
    } else {
        out += "none/";
    }
    switch (mode) {
    case 0: {
        Tracked z(0);
        auto r = io.yield();
        if (!r) return r.error();
        out += "case0/";
        break;
    }
    case 2:
        out += "case2/";
        [[fallthrough]];
    default: {
        auto r = io.yield();
        if (!r) return r.error();
        out += "default/";
    }
    }
    {
        Tracked nested(7);
        {
            std::unique_ptr<Tracked> p = std::make_unique<Tracked>(8);
            auto r = io.yield();
            if (!r) return r.error();
            if (mode == 3) return out + "early";
            out += std::to_string(p->value() + nested.value());
        }
    }
    return out;
}

// Suspending init-statements of if and switch, and a suspending callee in an if's init.
[[clang::annotate("zsync::stackless")]]
Result<int> init_statements(Io io, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        if (auto r = io.yield(); !r) return r.error();
        else ++ok;
        switch (auto r2 = io.sleep(0ms); r2 ? i % 3 : -1) {
        case 0:
            ok += 10;
            break;
        case -1:
            return r2.error();
        default:
            break;
        }
    }
    return ok;
}

// ---- callees: Result propagation, defaults, references, spans, nesting ----------------------------

Result<int> leaf(Io io, const std::string& tag, int times = 2) {
    Tracked t(static_cast<int>(tag.size()));
    int n = 0;
    for (int i = 0; i < times; ++i) {
        auto r = io.yield();
        if (!r) return r.error();
        ++n;
    }
    return n + t.value();
}

Result<int> level4(Io io, int x) {
    std::string tag = "level-four tag, long enough to own heap memory";
    auto r = leaf(io, tag);
    if (!r) return r.error();
    return *r + x;
}
Result<int> level3(Io io, int x) {
    Tracked t(3);
    auto r = level4(io, x + 1);
    if (!r) return r;
    return *r + t.value();
}
Result<int> level2(Io io, int x) {
    auto a = level3(io, x);
    if (!a) return a.error();
    auto b = level3(io, x + 10);  // a second call: its frame reuses the first one's storage
    if (!b) return b.error();
    return *a + *b;
}
Result<int> level1(Io io, int x) {
    std::vector<int> v{1, 2, 3};
    auto r = level2(io, x);
    if (!r) return r.error();
    return *r + static_cast<int>(v.size());
}

[[clang::annotate("zsync::stackless")]]
Result<int> five_deep(Io io, int x) {
    Tracked top(0);
    auto r = level1(io, x);
    if (!r) return r.error();
    return *r;
}

Result<long> sum_span(Io io, std::span<const int> values) {
    long s = 0;
    for (int v : values) {
        auto r = io.yield();
        if (!r) return r.error();
        s += v;
    }
    return s;
}

[[clang::annotate("zsync::stackless")]]
Result<long> spans_and_lambdas(Io io, int n) {
    std::vector<int> values;
    for (int i = 0; i < n; ++i) values.push_back(i * i);
    long expected = 0;
    {
        auto square_sum = [&values] {  // does not suspend; its scope ends before the next suspension
            long s = 0;
            for (int v : values) s += v;
            return s;
        };
        expected = square_sum();
    }
    auto r = sum_span(io, values);
    if (!r) return r.error();
    int defaults = 0;
    const std::string tag = "x";
    auto d = leaf(io, tag);  // default argument: times = 2
    if (!d) return d.error();
    defaults = *d;
    return *r - expected + defaults;
}

// ---- files: a buffer in the frame, operations with arguments --------------------------------------

[[clang::annotate("zsync::stackless")]]
Result<std::string> read_file(Io io, zsync::File f) {
    std::string text;
    std::byte buf[7];
    std::uint64_t offset = 0;
    while (true) {
        auto n = f.pread(io, buf, offset);
        if (!n) return n.error();
        if (*n == 0) break;
        text.append(reinterpret_cast<const char*>(buf), *n);
        offset += *n;
    }
    return text;
}

std::uint64_t advance(std::uint64_t& offset) {
    const std::uint64_t at = offset;
    offset += 4;
    return at;
}

// Two suspending statements in a row whose order matters (the planted bug 2 swaps them).
[[clang::annotate("zsync::stackless")]]
Result<std::string> two_in_a_row(Io io, zsync::File f) {
    std::byte a[4], b[4];
    std::uint64_t offset = 0;
    Result<std::size_t> ra = std::size_t{0}, rb = std::size_t{0};
    ra = f.pread(io, a, advance(offset));
    rb = f.pread(io, b, advance(offset));
    if (!ra) return ra.error();
    if (!rb) return rb.error();
    return std::string(reinterpret_cast<const char*>(a), *ra) + "|" + std::string(reinterpret_cast<const char*>(b), *rb);
}

// Library code that suspends: zsync::write_all is annotated in zsync's module interface, and its frame
// is generated here and embedded in this one.
[[clang::annotate("zsync::stackless")]]
Result<int> log_lines(Io io, zsync::File out, int n) {
    std::string line;
    int written = 0;
    for (int i = 0; i < n; ++i) {
        line = "line " + std::to_string(i) + " of a log written through an embedded library frame\n";
        auto r = zsync::write_all(io, out, std::as_bytes(std::span(line)));
        if (!r) return r.error();
        ++written;
    }
    return written;
}

// Void results and a callee whose value is discarded.
void touch(Io io, int& counter) {
    auto r = io.yield();
    if (r) ++counter;
}

[[clang::annotate("zsync::stackless")]]
Result<int> void_callee(Io io, int n) {
    int counter = 0;
    for (int i = 0; i < n; ++i) touch(io, counter);
    return counter;
}

// ---- suspending calls inside expressions (zsync-gen part 2) -------------------------------------

Result<int> value_after(Io io, int v) {
    auto r = io.yield();
    if (!r) return r.error();
    return v;
}
// Reads a Result without undefined behaviour when an injected fault made it an error.
int v(const Result<int>& r) { return r ? *r : -1000; }
int bump(int& counter) { return ++counter; }
Tracked make_tracked_value(int x) { return Tracked(x); }
int weight(const Tracked& t, int extra) { return t.value() + extra; }

Result<Tracked> tracked_after(Io io, int x) {
    Tracked t(x);
    auto r = io.sleep(0ms);
    if (!r) return r.error();
    return t;
}
int weight_of(const Result<Tracked>& r) { return r ? r->value() : -1; }

[[clang::annotate("zsync::stackless")]]
Result<int> expressions(Io io, int n) {
    int total = 0;
    int counter = 0;
    total += v(value_after(io, 2)) + v(value_after(io, 3));                 // both operands suspend
    if (v(value_after(io, n)) > 1 && v(value_after(io, 10)) == 10) total += 100;  // && (the right side only if n > 1)
    if (n > 5 || v(value_after(io, 4)) == 4) total += 1000;                 // || (the right side only if n <= 5)
    total += n % 2 ? v(value_after(io, 5)) : v(value_after(io, 6));         // ?: (one arm only)
    total += bump(counter) * 10 + v(value_after(io, counter));              // a call with effects before one that suspends
    total += weight(make_tracked_value(7), v(value_after(io, 1)));          // a temporary alive across the suspension
    total += weight_of(tracked_after(io, 9)) + weight_of(tracked_after(io, 11));  // suspending calls' own temporaries
    int i = 0;
    while (v(value_after(io, i)) < 3) ++i;                                  // a loop condition that suspends
    for (int j = 0; v(value_after(io, j)) < 2; ++j) total += j;
    int k = 0;
    do {
        ++k;
        if (k == 2) continue;  // goes to the condition, which suspends
        total += k;
    } while (v(value_after(io, k)) < 3);
    switch (v(value_after(io, n % 3))) {
    case 0: total += 1; break;
    case 1: total += 2; break;
    default: total += 3; break;
    }
    auto holder = std::make_unique<Tracked>(3);
    holder->set(v(value_after(io, 4)));                                      // the object (operator->) first
    total += holder->value();
    const int last = v(value_after(io, total % 5)) * 2;                      // an initializer
    return total + i + last + v(value_after(io, 0));                         // a return value
}

// ---- member functions that suspend (zsync-gen part 2) --------------------------------------------

class Account {
public:
    explicit Account(int start) : balance_(start) {}
    // Annotated, defined out of the class below: its frame is nested in the class (private access).
    [[clang::annotate("zsync::stackless")]]
    Result<int> deposit(Io io, int amount);
    // A const member that reads a private member across a suspension.
    Result<int> audit(Io io) const {
        Tracked seen(balance_);
        auto r = io.yield();
        if (!r) return r.error();
        return balance_ + seen.value() - seen.value();
    }
    // A member calling a private member on itself and a member on another object.
    Result<int> transfer_to(Io io, Account& other, int amount) {
        auto a = withdraw(io, amount);
        if (!a) return a.error();
        auto b = other.deposit(io, amount);
        if (!b) return b.error();
        return *a + *b;
    }

private:
    Result<int> withdraw(Io io, int amount) {
        if (auto r = io.yield(); !r) return r.error();
        balance_ -= amount;
        return balance_;
    }
    int balance_;
    std::string log_ = "account history, long enough to live on the heap";
};

Result<int> Account::deposit(Io io, int amount) {
    auto r = io.sleep(0ms);
    if (!r) return r.error();
    balance_ += amount;
    log_ += "+" + std::to_string(amount);
    return balance_ + static_cast<int>(this->log_.size()) - static_cast<int>(log_.size());
}

[[clang::annotate("zsync::stackless")]]
Result<int> members(Io io, int amount) {
    Account a(100), b(5);
    auto x = a.transfer_to(io, b, amount);
    if (!x) return x.error();
    auto y = b.audit(io);
    if (!y) return y.error();
    const Account& view = a;
    auto z = view.audit(io);
    if (!z) return z.error();
    return *x * 1000 + *y * 10 + *z;
}

// ---- exceptions (zsync-gen part 2, native builds) ----------------------------------------------

struct Boom {
    int code;
};

// Throws after one or two suspensions, with objects of its own alive: its frame unwinds them and the
// exception reaches the caller's handler.
Result<int> risky(Io io, int when) {
    Tracked inner(when);
    auto r = io.yield();
    if (!r) return r.error();
    if (when == 2) throw Boom{when};
    std::string s = "a string alive across the second suspension, longer than the small buffer";
    auto r2 = io.yield();
    if (!r2) return r2.error();
    if (when == 3) throw Boom{when};
    return when + static_cast<int>(s.size()) - static_cast<int>(s.size());
}

[[clang::annotate("zsync::stackless")]]
Result<int> exceptions(Io io, int when) {
    Tracked outer(100);
    int caught = 0;
    for (int i = 0; i < 2; ++i) {
        try {
            Tracked in_try(i);
            auto v = risky(io, when + i);
            if (!v) return v.error();
            if (when == 4) throw Boom{40};  // thrown by this frame's own code, inside the try
            caught += *v;
        } catch (const Boom& b) {
            caught += b.code * 10;
        }
        auto after = io.yield();
        if (!after) return after.error();
    }
    try {
        try {
            std::string held = "held by a nested try across a suspension, long enough to allocate";
            auto v = risky(io, 3);
            if (!v) return v.error();
            caught += *v + static_cast<int>(held.size());
        } catch (const Boom& b) {
            caught += b.code * 1000;
            throw Boom{b.code + 1};  // rethrown to the outer try
        }
    } catch (...) {
        caught += 7;
    }
    return caught + outer.value();
}

// ---- a task started by name (io.async(named_task, "a.txt", "xyz", 2)) ----------------------------

// Its parameters are not the argument types a caller writes: a string literal becomes a
// std::string_view and a std::string. The task's argument block must be built from these parameter
// types, as the frame's init reads it.
[[clang::annotate("zsync::stackless")]]
Result<std::size_t> named_task(Io io, std::string_view name, std::string suffix, int times) {
    std::string out(name);
    for (int i = 0; i < times; ++i) {
        auto r = io.yield();
        if (!r) return r.error();
        out += suffix;
    }
    return out.size();
}

// ---- the library in frames: files and directories, tasks, groups --------------------------------

// Every File and Dir call a frame can make, in one directory: create, write, close, open, read to the
// end, stat, list, delete. Each handle is closed on every path (a File has no destructor: nothing
// closes it implicitly), so a fault at any operation leaves no descriptor behind.
[[clang::annotate("zsync::stackless")]]
Result<std::string> in_dir(Io io, zsync::Dir dir, int round) {
    auto f = dir.create_file(io, "roundtrip.txt");
    if (!f) return f.error();
    zsync::File file = *f;
    std::string text = "round " + std::to_string(round) + ": a line long enough to leave the small buffer";
    std::span<const std::byte> bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
    auto w = zsync::write_all(io, file, bytes);
    auto c = file.close(io);
    if (!w) return w.error();
    if (!c) return c.error();
    auto again = file.close(io);  // already closed: an error without an Operation
    if (again) return std::string("closed twice");
    auto g = dir.open_file(io, "roundtrip.txt");
    if (!g) return g.error();
    zsync::File in = *g;
    auto got = zsync::read_to_string(io, in);
    auto st = zsync::stat(io, in);
    auto c2 = in.close(io);
    if (!got) return got.error();
    if (!st) return st.error();
    if (!c2) return c2.error();
    auto listed = zsync::list_dir(io, dir);
    if (!listed) return listed.error();
    auto del = dir.delete_file(io, "roundtrip.txt");
    if (!del) return del.error();
    return *got + " | size " + std::to_string(st->size) + " | entries " + std::to_string(listed->size());
}

[[clang::annotate("zsync::stackless")]]
Result<std::string> files_and_dirs(Io io, std::string_view path, int round) {
    auto d = zsync::Dir::open(io, path);
    if (!d) return d.error();
    zsync::Dir dir = *d;
    Tracked alive(round);
    auto r = in_dir(io, dir, round);
    auto c = dir.close(io);
    if (!r) return r.error();
    if (!c) return c.error();
    return *r;
}

// A task started and awaited inside a frame, a cancelled one, and a group.
[[clang::annotate("zsync::stackless")]]
Result<int> child(Io io, int v) {
    Tracked t(v);
    auto r = io.yield();
    if (!r) return r.error();
    return v * 2;
}

[[clang::annotate("zsync::stackless")]]
Result<int> spawn_and_await(Io io, int n) {
    int total = 0;
    for (int i = 1; i <= n; ++i) {
        auto fut = io.async(child, i);
        auto r = fut.await(io);
        if (!r) return r.error();
        total += *r;
        auto twice = fut.await(io);  // already taken
        if (twice || twice.error().code() != zsync::Errc::already_awaited) return -1;
    }
    auto other = io.async(child, 100);
    auto c = other.cancel(io);
    total += c ? *c : -1000;
    zsync::Group g;
    for (int i = 0; i < n; ++i) {
        auto s = g.async(io, child, 10 * i);
        if (!s) return s.error();
    }
    auto w = g.await(io);
    if (!w) return w.error();
    g.cancel(io);
    auto y = io.yield();
    if (!y) return y.error();
    return total;
}

// A child for backends that run tasks on other threads: no Tracked (its event log is single-threaded).
[[clang::annotate("zsync::stackless")]]
Result<int> pool_child(Io io, int v) {
    auto r = io.yield();
    if (!r) return r.error();
    return v * 2;
}

// Deterministic on every backend: n tasks awaited in order, then a group of n awaited. On a backend
// that queues tasks (ThreadPoolIo) each await and the group await is a wait the frame returns.
[[clang::annotate("zsync::stackless")]]
Result<int> await_all(Io io, int n) {
    std::vector<zsync::Future<int>> futures;
    for (int i = 1; i <= n; ++i) futures.push_back(io.async(pool_child, i));
    int total = 0;
    for (auto& f : futures) {
        auto r = f.await(io);
        if (!r) return r.error();
        total += *r;
    }
    zsync::Group g;
    for (int i = 0; i < n; ++i) {
        auto s = g.async(io, pool_child, i);
        if (!s) return s.error();
    }
    auto w = g.await(io);
    if (!w) return w.error();
    return total;
}

// A Mutex in a frame: locked and unlocked around a suspension, locked again by its holder
// (would_deadlock, without waiting), and a mutex another thread holds, waited for until a deadline
// (a futex_wait the frame returns, then timeout).
[[clang::annotate("zsync::stackless")]]
Result<int> mutex_work(Io io, zsync::Mutex* busy, int n) {
    zsync::Mutex m;
    int count = 0;
    for (int i = 0; i < n; ++i) {
        auto l = zsync::lock(io, m);
        if (!l) return l.error();
        Tracked held(i);
        auto y = io.yield();
        auto u = m.unlock(io);
        if (!y) return y.error();
        if (!u) return u.error();
        ++count;
    }
    auto again = zsync::lock(io, m);
    auto dead = zsync::lock(io, m);
    (void)m.unlock(io);
    if (!again) return again.error();
    if (dead || dead.error().code() != zsync::Errc::would_deadlock) return -1;
    auto t = zsync::lock(io, *busy, zsync::Deadline::after(1ms));
    if (t) return -2;
    if (t.error().code() != zsync::Errc::timeout) return t.error();
    return count;
}

// Sockets in a frame: a wait for room, a write, a shutdown, a wait for data and a read loop over a
// socket pair the frame makes itself (through io.operate, so every run has its own), a read and a wait
// on a closed socket (errors without an Operation), and both ends closed on every path.
[[clang::annotate("zsync::stackless")]]
Result<std::string> exchange(Io io, zsync::UnixStream a, zsync::UnixStream b) {
    std::string text = "ping over a socket pair, longer than the read buffer";
    std::span<const std::byte> bytes = std::as_bytes(std::span<const char>(text.data(), text.size()));
    auto room = a.wait_ready(io, zsync::PollEvents::writable);
    if (!room) return room.error();
    if (*room != zsync::PollEvents::writable) return std::string("not writable");
    auto w = a.write(io, bytes);
    if (!w) return w.error();
    auto s = a.shutdown(io, zsync::ShutdownHow::write);
    if (!s) return s.error();
    auto ready = b.wait_ready(io, zsync::PollEvents::readable, zsync::Deadline::after(std::chrono::seconds(5)));
    if (!ready) return ready.error();
    if (!zsync::has_any(*ready, zsync::PollEvents::readable)) return std::string("not readable");
    std::string got;
    std::byte buf[16];
    for (;;) {
        auto n = b.read(io, buf);
        if (!n) return n.error();
        if (*n == 0) break;
        got.append(reinterpret_cast<const char*>(buf), *n);
    }
    zsync::UnixStream closed;
    auto c = closed.read(io, buf);
    if (c || c.error().code() != zsync::Errc::closed) return std::string("read a closed socket");
    auto cw = closed.wait_ready(io, zsync::PollEvents::readable);
    if (cw || cw.error().code() != zsync::Errc::closed) return std::string("waited on a closed socket");
    return got + " | " + std::to_string(*w);
}

[[clang::annotate("zsync::stackless")]]
Result<std::string> sockets(Io io, int tag) {
    zsync::Handle fds[2];
    zsync::Operation pair = zsync::Operation::socketpair(fds);
    auto p = io.operate(pair);
    if (!p) return p.error();
    zsync::UnixStream a, b;
    a.handle = fds[0];
    b.handle = fds[1];
    Tracked alive(tag);
    auto r = exchange(io, a, b);
    auto ca = a.close(io);
    auto cb = b.close(io);
    if (!r) return r.error();
    if (!ca) return ca.error();
    if (!cb) return cb.error();
    return *r;
}

}  // namespace progs
