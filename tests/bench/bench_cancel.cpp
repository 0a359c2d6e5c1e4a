// Cancelling N tasks blocked in a syscall (issue 10): how the time grows with N.
//
// For each N of --n (default 100,1000,10000) and each backend that can block N tasks in recv at once
// (today ThreadPoolIo, whose `concurrent` gives each task a thread; a later backend adds itself here):
//   group     inside rt.run: N tasks started with Group::concurrent, each blocked in recv on a socket
//             nobody writes to; once all have entered (and 20 ms more), the time of `group.cancel(io)`
//             (request, interrupt, join of all N).
//   shutdown  N tasks started with io.concurrent from main, blocked the same way; the time of
//             destroying the ThreadPoolIo (its shutdown protocol cancels and joins them).
// Figures: ms for each N, us per task, and the per-task cost at the largest N over the smallest (about
// 1 when the cost is linear in N; the quadratic cancellation of issue 10 made it grow with N).
// Tasks share socket pairs (4 per pair) so that 10,000 tasks fit in RLIMIT_NOFILE. Each task checks
// that it saw `canceled` from recv; the program exits 1 otherwise.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include "bench_common.hpp"
import zsync;

namespace {

using namespace zsync;

std::atomic<int> wrong{0};

Result<void> blocked_recv(Io io, int fd, std::atomic<int>* entered) {
    entered->fetch_add(1);
    std::byte b[1];
    Operation op = Operation::recv(fd, b);
    auto r = io.operate(op);
    if (r || !r.error().canceled()) wrong.fetch_add(1);
    return {};
}

struct Pairs {
    std::vector<int> fds;
    explicit Pairs(int tasks) {
        for (int i = 0; i < (tasks + 3) / 4; ++i) {
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) bench::die("socketpair");
            fds.push_back(sv[0]);
            fds.push_back(sv[1]);
        }
    }
    ~Pairs() {
        for (int fd : fds) ::close(fd);
    }
    int reader(int task) const { return fds[2 * (task / 4)]; }
};

void wait_entered(const std::atomic<int>& entered, int n) {
    while (entered.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

Result<void> group_case(Io io, int n, double* ms, int* started) {
    Pairs pairs(n);
    std::atomic<int> entered{0};
    Group g;
    for (int i = 0; i < n; ++i)
        if (g.concurrent(io, blocked_recv, pairs.reader(i), &entered)) ++*started;
    wait_entered(entered, *started);
    double t0 = bench::now_ns();
    g.cancel(io);
    *ms = (bench::now_ns() - t0) / 1e6;
    return {};
}

double pool_group(int n, int* started) {
    double ms = 0;
    ThreadPoolIo rt(ThreadPoolIo::Options{.workers = 2, .max_concurrent = static_cast<unsigned>(n)});
    (void)rt.run(group_case, n, &ms, started);
    return ms;
}

double pool_shutdown(int n, int* started) {
    Pairs pairs(n);
    std::atomic<int> entered{0};
    std::vector<Future<void>> futs;
    std::optional<ThreadPoolIo> rt(ThreadPoolIo::Options{.workers = 2, .max_concurrent = static_cast<unsigned>(n)});
    Io io = rt->io();
    for (int i = 0; i < n; ++i)
        if (auto f = io.concurrent(blocked_recv, pairs.reader(i), &entered)) {
            futs.push_back(std::move(*f));
            ++*started;
        }
    wait_entered(entered, *started);
    double t0 = bench::now_ns();
    rt.reset();
    double ms = (bench::now_ns() - t0) / 1e6;
    for (auto& f : futs) (void)f.await(io);
    return ms;
}

std::vector<int> parse_list(std::string_view s) {
    std::vector<int> out;
    std::string cur;
    for (char c : std::string(s) + ",") {
        if (c == ',') {
            if (!cur.empty()) out.push_back(std::stoi(cur));
            cur.clear();
        } else cur += c;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    std::vector<int> ns = parse_list(args.get("--n", "100,1000,10000"));
    int runs = static_cast<int>(args.num("--runs", 3));
    // Raise the soft fd limit to the hard one (each pair of sockets serves 4 tasks).
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct Case {
        const char* name;
        double (*run)(int, int*);
    };
    const Case cases[] = {{"group", pool_group}, {"shutdown", pool_shutdown}};
    for (const Case& c : cases) {
        double first_per_task = 0, last_per_task = 0;
        for (int n : ns) {
            std::vector<double> samples;
            for (int r = 0; r < runs; ++r) {
                int started = 0;
                double ms = c.run(n, &started);
                if (started != n) {
                    std::fprintf(stderr, "pool %s: only %d of %d tasks could start (concurrency_unavailable)\n", c.name, started, n);
                    return 1;
                }
                samples.push_back(ms);
            }
            std::string name = std::string("cancel.pool.") + c.name + ".n" + std::to_string(n) + ".ms";
            bench::print_summary(name.c_str(), "ms", samples);
            std::vector<double> per;
            for (double ms : samples) per.push_back(ms * 1000 / n);
            name = std::string("cancel.pool.") + c.name + ".n" + std::to_string(n) + ".us_per_task";
            bench::print_summary(name.c_str(), "us", per);
            double med = bench::summarize(per).median;
            if (n == ns.front()) first_per_task = med;
            last_per_task = med;
        }
        if (ns.size() > 1 && first_per_task > 0)
            std::printf("figure cancel.pool.%s.per_task_n%d_over_n%d.ratio %.3f\n", c.name, ns.back(), ns.front(), last_per_task / first_per_task);
    }
    std::fflush(stdout);
    if (wrong.load() != 0) {
        std::fprintf(stderr, "%d tasks did not see canceled from recv\n", wrong.load());
        return 1;
    }
    return 0;
}
