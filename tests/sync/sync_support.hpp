// Helpers of the sync tests: run a blocking call as a task that can be cancelled (on the pool through
// Future::cancel from the spawning task; on BlockingIo, which has one task per thread, as the task of
// a second BlockingIo on its own thread, cancelled with request_cancel), and the stress scale.
// Include after <catch2/catch.hpp>.
#pragma once
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include "conformance.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZSYNC_SYNC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ZSYNC_SYNC_TSAN)
#define ZSYNC_SYNC_TSAN 1
#endif

namespace zsync::test::sync {

#ifdef ZSYNC_SYNC_TSAN
inline constexpr int scale_div = 5;
#else
inline constexpr int scale_div = 1;
#endif

template <class B>
inline constexpr bool is_pool = BackendTraits<B>::concurrent_available;

// Spins (with short sleeps) until `flag` is set or 10 s pass; true if it was set.
inline bool wait_flag(const std::atomic<bool>& flag) {
    auto end = SteadyClock::now() + std::chrono::seconds(10);
    while (!flag.load()) {
        if (SteadyClock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

// measure<B>, after making (and destroying) 12 BlockingIos at once: the cases use one BlockingIo per
// helper thread (up to 9 at once), and each first use of a context node allocates it for good.
template <class B, class F>
Leak measure_sync(F&& work) {
    {  // every backend: pool cases use BlockingIos on helper threads too
        std::vector<std::unique_ptr<BlockingIo>> warm;
        for (int i = 0; i < 12; ++i) warm.push_back(std::make_unique<BlockingIo>());
        for (auto& w : warm) (void)w->io();
    }
    return measure<B>(std::forward<F>(work));
}

// A task that runs body(Io) -> Result<T> concurrently with the caller. On a pool: io.concurrent on
// the caller's backend, cancelled by Future::cancel from the spawning (foreground) task. On BlockingIo:
// a thread with its own BlockingIo (the cross-backend futex rule lets both meet on one word),
// cancelled with request_cancel.
template <class B, class T>
class Side {
public:
    template <class Body>
    Side(B& rt, Body body) : io_(rt.io()) {
        if constexpr (is_pool<B>) {
            auto f = io_.concurrent(body);
            if (f) fut_.emplace(std::move(*f));
            else failed_ = f.error();
        } else {
            thread_ = std::thread([this, body]() mutable {
                B own;
                own_.store(&own);
                result_.emplace(body(own.io()));
                done_.store(true);
                while (!released_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
            });
            while (!own_.load()) std::this_thread::yield();
        }
    }
    Side(const Side&) = delete;
    Side& operator=(const Side&) = delete;
    ~Side() {
        if (thread_.joinable()) {
            released_.store(true);
            thread_.join();
        }
    }

    // Requests cancellation and returns what the task returned.
    Result<T> cancel() {
        if constexpr (is_pool<B>) {
            if (!fut_) return failed_;
            return fut_->cancel(io_);
        } else {
            BackendTraits<B>::request_cancel(*own_.load());
            return join();
        }
    }
    // Waits for the task and returns its result.
    Result<T> join() {
        if constexpr (is_pool<B>) {
            if (!fut_) return failed_;
            return fut_->await(io_);
        } else {
            while (!done_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
            Result<T> out = std::move(*result_);
            released_.store(true);
            thread_.join();
            return out;
        }
    }

private:
    Io io_;
    std::optional<Future<T>> fut_;
    Error failed_{Errc::invalid_argument, Op::concurrent};
    std::thread thread_;
    std::atomic<B*> own_{nullptr};
    std::atomic<bool> done_{false}, released_{false};
    std::optional<Result<T>> result_;
};

}  // namespace zsync::test::sync
