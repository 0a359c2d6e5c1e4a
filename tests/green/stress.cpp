// Stress: 100,000 sleeping fibers (resident memory printed), 1,000,000 short tasks; fds, threads and
// allocations counted before and after. Each fiber stack is two mappings (guard + stack), so 100,000
// fibers need vm.max_map_count above 200,000: when it is lower and the test runs as root, it raises it
// (to 262,144) and says so; otherwise it runs as many fibers as the limit allows and says that.
#include <catch2/catch.hpp>
#include <cstdio>
#include "green_support.hpp"

// Sanitized builds run a tenth (fibers) and a twentieth (tasks) of the work: tsan runs a task ~40x
// slower. clang spells the test __has_feature; __SANITIZE_*__ is GCC's.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define ZSYNC_TEST_SANITIZED 1
#endif
#endif
#ifndef ZSYNC_TEST_SANITIZED
#define ZSYNC_TEST_SANITIZED 0
#endif

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

namespace {
long read_long(const char* path) {
    std::FILE* f = std::fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    if (std::fscanf(f, "%ld", &v) != 1) v = -1;
    std::fclose(f);
    return v;
}
long resident_kib() {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmRSS: %ld kB", &v) == 1) break;
    std::fclose(f);
    return v;
}
// How many fibers the mapping limit allows (raising it first when root).
long fibers_allowed(long wanted) {
    long maps = read_long("/proc/sys/vm/max_map_count");
    if (maps >= 0 && maps < 2 * wanted + 10'000 && ::geteuid() == 0) {
        if (std::FILE* f = std::fopen("/proc/sys/vm/max_map_count", "w")) {
            std::fprintf(f, "262144\n");
            std::fclose(f);
            std::printf("stress: raised vm.max_map_count from %ld to %ld (running as root)\n", maps,
                        read_long("/proc/sys/vm/max_map_count"));
            maps = read_long("/proc/sys/vm/max_map_count");
        }
    }
    if (maps < 0) return wanted;
    long room = (maps - 10'000) / 2;
    if (room < wanted) std::printf("stress: vm.max_map_count=%ld allows only %ld fibers (not root)\n", maps, room);
    return std::min(wanted, room);
}
}  // namespace

TEST_CASE("green stress: 100,000 concurrent sleeping fibers in bounded memory", "[green][stress]") {
#if ZSYNC_TEST_SANITIZED
    const long wanted = 10'000;
#else
    const long wanted = 100'000;
#endif
    const long n = fibers_allowed(wanted);
    long woke = 0, rss_before = 0, rss_peak = 0;
    int threads_before = 0, threads_after = 0;
    double ms = 0;
    bool clean = no_leak([&] {
        threads_before = thread_count();  // after no_leak's warm-up: tsan's own thread exists by now
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2, .stack_bytes = 32 * 1024});
        Io io = rt.io();
        rss_before = resident_kib();
        std::atomic<long> count{0};
        auto t0 = std::chrono::steady_clock::now();
        {
            Group g;
            for (long i = 0; i < n; ++i)
                (void)g.concurrent(io, [&count](Io cio) {
                    if (cio.sleep(1500ms)) count.fetch_add(1, std::memory_order_relaxed);
                });
            rss_peak = resident_kib();
            (void)g.await(io);
        }
        ms = ms_since(t0);
        woke = count.load();
    });
    threads_after = thread_count();
    std::printf("stress: %ld sleeping fibers: resident %ld KiB before, %ld KiB with all alive (%.1f KiB per fiber), %.0f ms\n",
                n, rss_before, rss_peak, n ? double(rss_peak - rss_before) / double(n) : 0.0, ms);
    CHECK(clean);
    CHECK(threads_after == threads_before);
    CHECK(woke == n);
    // 65,530 (the kernel's default limit, when it cannot be raised) still allows 27,765.
    CHECK(n >= std::min(wanted, 25'000L));
}

TEST_CASE("green stress: 1,000,000 short tasks", "[green][stress]") {
#if ZSYNC_TEST_SANITIZED
    const long n = 50'000;
#else
    const long n = 1'000'000;
#endif
    long sum = 0;
    double ms = 0;
    int threads_before = 0;
    bool clean = no_leak([&] {
        threads_before = thread_count();  // after no_leak's warm-up, as above
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        Io io = rt.io();
        std::atomic<long> s{0};
        auto t0 = std::chrono::steady_clock::now();
        (void)rt.run([&s, n](Io fio) {
            for (long i = 0; i < n; i += 1000) {
                Group g;
                for (long k = 0; k < 1000; ++k) (void)g.async(fio, [&s](Io) { s.fetch_add(1, std::memory_order_relaxed); });
                (void)g.await(fio);
            }
        });
        (void)io;
        ms = ms_since(t0);
        sum = s.load();
    });
    std::printf("stress: %ld short tasks in %.0f ms (%.0f ns per task)\n", n, ms, ms * 1e6 / double(n));
    CHECK(clean);
    CHECK(thread_count() == threads_before);
    CHECK(sum == n);
}
