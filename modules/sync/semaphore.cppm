// zsync:semaphore — Semaphore: a counter of permits tasks can wait for, over one futex word.
//
// Protocol:
//   count_    the permits; taken by CAS c -> c-1 only when c > 0; sleepers sleep on "count_ == 0".
//   waiters_  how many tasks are about to sleep or sleeping; post skips the syscall when it is 0.
//   1. wait: try to take a permit. Otherwise waiters_ += 1, re-read count_ (both seq_cst) and sleep
//      while it is 0; waiters_ -= 1; try again. A post that lands between the re-read and the sleep
//      changes the word, so the kernel refuses the sleep.
//   2. post(n): count_ += n, then read waiters_ (both seq_cst: either post sees the sleeper, or the
//      sleeper's re-read sees the permits); wake up to n.
//   3. A waiter that leaves without a permit (canceled, timeout) may have consumed a wake meant for a
//      permit; if permits are left it wakes one other waiter before returning.
module;
#include <algorithm>
#include <atomic>
#include <cstdint>
export module zsync:semaphore;
import :error;
import :result;
import :time;
import :io;
import :mutex;

export namespace zsync {

// A counting semaphore. Thread-safe. Cancel points: wait and wait_until, only when no permit is free.
class Semaphore {
public:
    explicit Semaphore(std::uint32_t permits = 0) noexcept : count_(permits) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    // Takes a permit if one is free. Never waits.
    inline bool try_wait() noexcept {
        // relaxed: the CAS below is what synchronises.
        std::uint32_t c = count_.load(std::memory_order_relaxed);
        while (c > 0) {
            // acquire: a permit comes with what its poster wrote before post().
            if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
        }
        return false;
    }
    // Takes a permit, waiting for one. Errors: canceled (op wait); no permit is then taken.
    inline Result<void> wait(Io io) noexcept { return wait_until(io, Deadline::never()); }
    // As wait, or Errc::timeout (op wait) at `deadline`.
    Result<void> wait_until(Io io, Deadline deadline) noexcept {
        for (;;) {
            if (try_wait()) return {};
            // seq_cst (with the load below and post's two): the store-load handshake of the header.
            waiters_.fetch_add(1, std::memory_order_seq_cst);
            Result<void> r;
            if (count_.load(std::memory_order_seq_cst) == 0) r = io.futex_wait(count_, 0, deadline);
            // relaxed: a counter for skipping syscalls; a stale higher value costs one wake.
            waiters_.fetch_sub(1, std::memory_order_relaxed);
            if (!r) {
                // relaxed: only decides whether to pass a wake on (step 3).
                if (count_.load(std::memory_order_relaxed) > 0) io.futex_wake(count_, 1);
                return detail::sync_error(r.error(), Op::wait);
            }
        }
    }
    // Adds `n` permits and wakes up to `n` waiters. Never waits. The count saturates at 2^32 - 1
    // permits (it never wraps around to a small number).
    inline void post(Io io, std::uint32_t n = 1) noexcept {
        if (n == 0) return;
        std::uint32_t c = count_.load(std::memory_order_relaxed);
        // seq_cst: poster half of the handshake; also the release that a taker's acquire pairs with.
        // relaxed on failure: the loop retries with the fresh count.
        while (!count_.compare_exchange_weak(c, c + std::min(n, ~std::uint32_t(0) - c), std::memory_order_seq_cst, std::memory_order_relaxed)) {}
        if (waiters_.load(std::memory_order_seq_cst) != 0) io.futex_wake(count_, n);
    }
    // The permits free right now (a snapshot).
    inline std::uint32_t available() const noexcept {
        // relaxed: a snapshot.
        return count_.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint32_t> count_;
    std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace zsync
