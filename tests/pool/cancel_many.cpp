// Cancelling many tasks blocked in recv at once (issue 10): a Group::cancel of N concurrent tasks and
// the shutdown of a pool with N concurrent tasks. Every task must see exactly one `canceled` (from its
// recv, with Op::recv, and its next cancel point succeeds), and nothing may be left behind: fds and
// allocations (Leak) and threads (/proc/self/task). The time is printed, never asserted (a slow
// machine is not a bug); the benchmark bench_cancel measures how it grows with N.
//
// Sockets: RLIMIT_NOFILE here is 20,000, so tasks share socket pairs (tasks_per_pair blocked on one
// end each); nobody writes, so only cancellation ends a recv.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <optional>
#include <vector>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

constexpr int tasks_per_pair = 4;

// What one task saw.
struct Seen {
    std::atomic<int> canceled{0};  // errors of kind canceled from its recv
    std::atomic<int> other{0};     // anything else (data, EOF, another error, wrong op)
    std::atomic<int> second_ok{0}; // the cancel point after the canceled recv succeeded
};

Result<int> blocked_recv(Io io, int fd, std::atomic<int>* entered, Seen* seen) {
    entered->fetch_add(1);
    std::byte b[1];
    Operation op = Operation::recv(fd, b);
    auto r = io.operate(op);
    if (r) {
        seen->other.fetch_add(1);
        return 0;
    }
    if (r.error().canceled() && r.error().op() == Op::recv) seen->canceled.fetch_add(1);
    else seen->other.fetch_add(1);
    if (io.check_cancel()) seen->second_ok.fetch_add(1);
    return r.error();
}

int thread_count() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n;
}

struct Pairs {
    std::vector<int> fds;
    explicit Pairs(int n) {
        for (int i = 0; i < n; ++i) {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
            fds.push_back(sv[0]);
            fds.push_back(sv[1]);
        }
    }
    ~Pairs() {
        for (int fd : fds) ::close(fd);
    }
    int reader(int task) const { return fds[2 * (task / tasks_per_pair)]; }
};

// Waits until `entered` reaches n, then a little longer so that the tasks are inside recv.
void wait_entered(const std::atomic<int>& entered, int n) {
    auto end = SteadyClock::now() + std::chrono::seconds(60);
    while (entered.load() < n && SteadyClock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

struct Totals {
    int canceled_once = 0, wrong = 0, second_ok = 0, started = 0, futures_canceled = 0;
    int threads_before = 0, threads_after = 0;
    double ms = 0;
};

void tally(const std::vector<Seen>& seen, Totals& t) {
    for (const Seen& s : seen) {
        if (s.canceled.load() == 1 && s.other.load() == 0) ++t.canceled_once;
        else ++t.wrong;
        t.second_ok += s.second_ok.load();
    }
}

constexpr int many = under_tsan ? 200 : 2000;

Result<void> cancel_group_of(Io io, int n, std::vector<Seen>* seen, Totals* out) {
    Pairs pairs((n + tasks_per_pair - 1) / tasks_per_pair);
    std::atomic<int> entered{0};
    Group g;
    for (int i = 0; i < n; ++i)
        if (g.concurrent(io, blocked_recv, pairs.reader(i), &entered, &(*seen)[i])) ++out->started;
    wait_entered(entered, out->started);
    auto t0 = SteadyClock::now();
    g.cancel(io);
    out->ms = ms_since(t0);
    return {};
}

}  // namespace

TEST_CASE("pool: Group::cancel of many tasks blocked in recv delivers canceled once each and leaks nothing", "[pool][cancel][many]") {
    std::vector<Seen> seen(many);
    Totals t;
    auto leak = measure_pool([&] {
        t.threads_before = thread_count();
        {
            ThreadPoolIo rt(ThreadPoolIo::Options{.workers = 2, .max_concurrent = many});
            (void)rt.run(cancel_group_of, many, &seen, &t);
        }
        t.threads_after = thread_count();
    });
    tally(seen, t);
    WARN("Group::cancel of " << t.started << " tasks blocked in recv: " << t.ms << " ms");
    CHECK(t.started == many);
    CHECK(t.canceled_once == many);
    CHECK(t.wrong == 0);
    CHECK(t.second_ok == many);
    CHECK(t.threads_after == t.threads_before);
    CHECK(leak.clean());
}

TEST_CASE("pool: shutdown with many concurrent tasks blocked in recv cancels each once and leaks nothing", "[pool][cancel][many][shutdown]") {
    std::vector<Seen> seen(many);
    Totals t;
    auto leak = measure_pool([&] {
        t.threads_before = thread_count();
        Pairs pairs((many + tasks_per_pair - 1) / tasks_per_pair);
        std::atomic<int> entered{0};
        std::vector<Future<int>> futs;
        std::optional<ThreadPoolIo> rt(ThreadPoolIo::Options{.workers = 2, .max_concurrent = many});
        Io io = rt->io();
        for (int i = 0; i < many; ++i) {
            auto f = io.concurrent(blocked_recv, pairs.reader(i), &entered, &seen[i]);
            if (f) {
                futs.push_back(std::move(*f));
                ++t.started;
            }
        }
        wait_entered(entered, t.started);
        auto t0 = SteadyClock::now();
        rt.reset();  // the shutdown protocol cancels every running task and joins every thread
        t.ms = ms_since(t0);
        for (auto& f : futs) {
            auto r = f.await(io);  // a Future may outlive its pool
            if (!r && r.error().canceled()) ++t.futures_canceled;
        }
        futs.clear();
        t.threads_after = thread_count();
    });
    tally(seen, t);
    WARN("shutdown with " << t.started << " tasks blocked in recv: " << t.ms << " ms");
    CHECK(t.started == many);
    CHECK(t.canceled_once == many);
    CHECK(t.futures_canceled == many);
    CHECK(t.wrong == 0);
    CHECK(t.second_ok == many);
    CHECK(t.threads_after == t.threads_before);
    CHECK(leak.clean());
}
