// The futex-waiter table: futex_wait served without an OS thread blocked in FUTEX_WAIT, for drivers
// whose kernel interface cannot wait on a futex (epoll; io_uring without IORING_OP_FUTEX_WAIT).
//
// Protocol (waiter W on a driver's thread, waker K on any thread; `waiters` and the word seq_cst):
//   W: waiters += 1; lock the bucket of the address; if *word != expected: unlock, waiters -= 1, the wait
//      completes at once (BlockingIo's EAGAIN: a wake); else link the slot and unlock.
//   K: the caller changed the word, then futex_wake_os: FUTEX_WAKE syscall, a seq_cst fence, load
//      waiters; if 0, done. Else lock the bucket, unlink up to n waiters on the address, post each
//      completion to its driver (Core::post_done: an eventfd wake).
// Either K's load sees W's increment, or W's load of the word (after its increment) sees K's change: the
// Dekker pair through the fence, so a wake is never lost. Cancel and timeout unlink under the same lock:
// a waiter is either still linked (cancel completes it) or already posted (the post completes it), once.
// Lock order: a bucket, then a driver's remote_mu (post_done); never the other way round.
module;
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "../detail/cancel_state.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "core.hpp"

namespace zsync::rt::reactor {

namespace {

struct Bucket {
    std::mutex mu;
    Slot* head = nullptr;
};
constexpr std::size_t bucket_count = 256;
Bucket buckets[bucket_count];
std::atomic<std::uint32_t> waiters{0};

Bucket& bucket_of(const void* addr) noexcept {
    auto a = reinterpret_cast<std::uintptr_t>(addr);
    return buckets[(a >> 2 ^ a >> 10) % bucket_count];
}

void unlink(Bucket& b, Slot& s) noexcept {
    auto& f = s.s.fx;
    if (f.prev) f.prev->s.fx.next = f.next;
    else b.head = f.next;
    if (f.next) f.next->s.fx.prev = f.prev;
    f.linked = false;
    waiters.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only a hint that lets wakers skip the lock
}

}  // namespace

void futex_table_wait(Core& core, std::uint32_t idx, Slot& s) noexcept {
    Operation& op = *s.op;
    waiters.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: the Dekker pair with futex_wake_reactor
    Bucket& b = bucket_of(op.futex.word);
    std::unique_lock lock(b.mu);
    if (op.futex.word->load(std::memory_order_seq_cst) != op.futex.expected) {
        lock.unlock();
        waiters.fetch_sub(1, std::memory_order_relaxed);
        return core.defer(idx, std::uint64_t(0));
    }
    auto& f = s.s.fx;
    f = {op.futex.word, &core, idx, s.gen, nullptr, b.head, true};
    if (b.head) b.head->s.fx.prev = &s;
    b.head = &s;
    s.where = Where::futex;
}

void futex_table_cancel(Core& core, std::uint32_t idx, Slot& s) noexcept {
    Bucket& b = bucket_of(s.op->futex.word);
    std::unique_lock lock(b.mu);
    if (!s.s.fx.linked) return;  // already woken: its posted completion is on the way
    unlink(b, s);
    lock.unlock();
    core.defer(idx, Error(Errc::canceled, Op::futex_wait));
}

}  // namespace zsync::rt::reactor

namespace zsync::rt {

using namespace reactor;

void futex_wake_reactor(const void* word, std::uint32_t max_waiters) noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the caller's store to the word before our load
    if (waiters.load(std::memory_order_seq_cst) == 0) return;
    Bucket& b = bucket_of(word);
    std::lock_guard lock(b.mu);
    Slot* s = b.head;
    while (s && max_waiters > 0) {
        Slot* next = s->s.fx.next;
        if (s->s.fx.addr == word) {
            auto f = s->s.fx;
            unlink(b, *s);
            f.core->post_done(f.idx, f.gen, std::uint64_t(0));
            --max_waiters;
        }
        s = next;
    }
}
}  // namespace zsync::rt
