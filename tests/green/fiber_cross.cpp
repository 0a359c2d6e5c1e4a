// The cross-backend futex rule with fibers (docs/architecture.md): a fiber on any worker and an OS
// thread of another backend wake each other through one word; and the Mutex keyed on the task.
#include <catch2/catch.hpp>
#include "green_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

TEST_CASE("green: a fiber waiting on a word is woken by a BlockingIo thread and by a pool task", "[green][futex][cross]") {
    int woken = 0;
    { ThreadPoolIo p(ThreadPoolIo::Options{.workers = 1}); BlockingIo b; }  // their first context nodes stay for reuse
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        ThreadPoolIo pool(ThreadPoolIo::Options{.workers = 1});
        Io io = rt.io();
        for (int by_pool = 0; by_pool < 2; ++by_pool) {
            std::atomic<std::uint32_t> word{0};
            auto f = io.concurrent([&word](Io cio) -> bool {
                auto d = Deadline::after(10s);
                while (word.load() == 0)
                    if (!cio.futex_wait(word, 0, d)) return false;
                return true;
            });
            REQUIRE(f);
            std::this_thread::sleep_for(20ms);
            if (by_pool) {
                auto t = pool.io().async([&word](Io pio) { word.store(1); pio.futex_wake(word, 1); });
                (void)t.await(pool.io());
            } else {
                std::thread th([&word] {
                    BlockingIo b;
                    word.store(1);
                    b.io().futex_wake(word, 1);
                });
                th.join();
            }
            auto r = f->await(io);
            if (r && *r) ++woken;
        }
    });
    CHECK(clean);
    CHECK(woken == 2);
}

TEST_CASE("green: a BlockingIo thread waiting in the kernel is woken by a fiber's futex_wake", "[green][futex][cross]") {
    bool thread_woke = false;
    { BlockingIo b; }  // its first context node stays for reuse
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        std::atomic<std::uint32_t> word{0};
        std::thread th([&] {
            BlockingIo b;
            auto d = Deadline::after(10s);
            while (word.load() == 0)
                if (!b.io().futex_wait(word, 0, d)) return;
            thread_woke = true;
        });
        std::this_thread::sleep_for(20ms);
        (void)rt.run([&word](Io io) {
            word.store(1);
            io.futex_wake(word, 1);
        });
        th.join();
    });
    CHECK(clean);
    CHECK(thread_woke);
}

TEST_CASE("green: two fibers on ONE worker share a Mutex (no false would_deadlock), a fiber locking twice gets it", "[green][sync][mutex]") {
    int counter = 0;
    bool other_waited = false;
    Errc again = Errc::ok;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        Mutex m;
        int shared = 0;
        Group g;
        for (int i = 0; i < 8; ++i)
            (void)g.concurrent(io, [&](Io cio) {
                for (int k = 0; k < 100; ++k) {
                    if (!m.lock(cio)) return;
                    int v = shared;
                    (void)cio.yield();  // another fiber of the same worker runs and must wait for the lock
                    shared = v + 1;
                    (void)m.unlock(cio);
                }
            });
        (void)g.await(io);
        counter = shared;
        auto f = io.concurrent([&m](Io cio) -> Errc {
            if (!m.lock(cio)) return Errc::system;
            auto r = m.lock(cio);
            (void)m.unlock(cio);
            return r ? Errc::ok : r.error().code();
        });
        REQUIRE(f);
        auto r = f->await(io);
        if (r) again = *r;
        other_waited = counter == 800;
    });
    CHECK(clean);
    CHECK(counter == 800);
    CHECK(other_waited);
    CHECK(again == Errc::would_deadlock);
}
