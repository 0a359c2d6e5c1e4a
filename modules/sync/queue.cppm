// zsync:queue — Queue<T>: a bounded multi-producer multi-consumer queue (Zig's Io.Queue).
//
// Protocol: a ring buffer guarded by a Mutex, with two Conditions (the futex words live in those; see
// their headers for the wake-up steps).
//   1. put: lock; while full and not closed, wait on not_full_; if closed, fail with closed;
//      otherwise move the value in, signal not_empty_, unlock.
//   2. get: lock; while empty and not closed, wait on not_empty_; if empty (hence closed), fail with
//      closed; otherwise move the value out, signal not_full_, unlock.
//   3. close: lock (cancellation blocked); closed_ = true; broadcast both conditions; unlock. Every
//      sleeper re-checks closed_ under the mutex, so none sleeps on after close.
//   4. A getter (putter) that leaves while waiting (canceled, timeout) may have consumed the one
//      signal meant for another: Condition passes such a wake on (its step 3), so the item (the free
//      slot) is still noticed by the next waiter. A sleeper never leaves with an item or a slot taken.
//   The mutex is only held for a few instructions and never across a wait (Condition releases it).
module;
#include <atomic>
#include <cstddef>
#include <limits>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
export module zsync:queue;
import :error;
import :result;
import :time;
import :io;
import :mutex;
import :condition;

export namespace zsync {

// A bounded FIFO queue of T (T may be move-only). Thread-safe: any number of tasks of any backends may
// put and get concurrently. The capacity is fixed at construction and the storage is owned by the
// queue (allocated once, in the constructor).
// Cancel points: put, put_until, get, get_until — when they have to wait. try_put, try_get and close
// never wait for space or items (they take the internal lock, which is only held briefly, with
// cancellation blocked).
// After close: put fails with Errc::closed; get returns what is left, then Errc::closed (op queue_get).
template <class T>
class Queue {
    // put/get are noexcept and move items under the internal lock: a throwing move could only end in
    // std::terminate, so such types are refused at compile time.
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                  "Queue<T> needs a T whose move constructor and destructor do not throw");

public:
    // `capacity` of 0 is taken as 1.
    // A capacity whose storage cannot be sized (sizeof(T) * capacity overflows) throws
    // std::bad_array_new_length, as new T[capacity] would; no memory is allocated then.
    explicit Queue(std::size_t capacity)
        : cap_(capacity ? capacity : 1),
          slots_(static_cast<T*>(::operator new(storage_bytes(cap_), std::align_val_t(alignof(T))))) {}
    Queue(const Queue&) = delete;
    Queue& operator=(const Queue&) = delete;
    // Destroys the items still queued. No task may be using the queue.
    ~Queue() {
        for (std::size_t i = 0; i < count_; ++i) std::destroy_at(&slots_[(head_ + i) % cap_]);
        ::operator delete(slots_, std::align_val_t(alignof(T)));
    }

    // Appends `v`, waiting while the queue is full. The value is moved from only on success: on an
    // error (closed, canceled, timeout — op queue_put) the caller still has it.
    Result<void> put(Io io, T&& v) noexcept { return put_until(io, std::move(v), Deadline::never()); }
    Result<void> put(Io io, const T& v) noexcept requires std::is_copy_constructible_v<T> {
        T copy(v);
        return put_until(io, std::move(copy), Deadline::never());
    }
    Result<void> put_until(Io io, T&& v, Deadline deadline) noexcept {
        if (Result<void> r = m_.lock_until(io, deadline); !r) return detail::sync_error(r.error(), Op::queue_put);
        while (count_ == cap_ && !closed_) {
            if (Result<void> r = not_full_.wait_until(io, m_, deadline); !r) {
                (void)m_.unlock(io);
                return detail::sync_error(r.error(), Op::queue_put);
            }
        }
        return push_locked(io, std::move(v));
    }
    // Appends `v` if there is room: Errc::would_block when full, closed after close.
    Result<void> try_put(Io io, T&& v) noexcept {
        lock_shielded(io);
        if (count_ == cap_ && !closed_) {
            (void)m_.unlock(io);
            return Error(Errc::would_block, Op::queue_put);
        }
        return push_locked(io, std::move(v));
    }

    // Removes the oldest item, waiting while the queue is empty. After close, returns the items left,
    // then Errc::closed. Errors: closed, canceled, timeout (op queue_get).
    Result<T> get(Io io) noexcept { return get_until(io, Deadline::never()); }
    Result<T> get_until(Io io, Deadline deadline) noexcept {
        if (Result<void> r = m_.lock_until(io, deadline); !r) return detail::sync_error(r.error(), Op::queue_get);
        while (count_ == 0 && !closed_) {
            if (Result<void> r = not_empty_.wait_until(io, m_, deadline); !r) {
                (void)m_.unlock(io);
                return detail::sync_error(r.error(), Op::queue_get);
            }
        }
        return pop_locked(io);
    }
    // Removes the oldest item if there is one: Errc::would_block when empty (and open), closed when
    // empty and closed.
    Result<T> try_get(Io io) noexcept {
        lock_shielded(io);
        if (count_ == 0 && !closed_) {
            (void)m_.unlock(io);
            return Error(Errc::would_block, Op::queue_get);
        }
        return pop_locked(io);
    }

    // Closes the queue and wakes every blocked putter and getter. Idempotent. Not a cancel point.
    void close(Io io) noexcept {
        lock_shielded(io);
        closed_ = true;
        not_empty_.broadcast(io);
        not_full_.broadcast(io);
        (void)m_.unlock(io);
    }

    std::size_t capacity() const noexcept { return cap_; }
    // The number of items queued (a snapshot: takes the lock).
    std::size_t size(Io io) noexcept {
        lock_shielded(io);
        std::size_t n = count_;
        (void)m_.unlock(io);
        return n;
    }

private:
    static std::size_t storage_bytes(std::size_t cap) {
        if (cap > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
        return sizeof(T) * cap;
    }

    void lock_shielded(Io io) noexcept {
        CancelShield shield(io);
        (void)m_.lock(io);  // cannot be canceled; the mutex is never held across a wait
    }
    // Called with m_ held; releases it.
    Result<void> push_locked(Io io, T&& v) noexcept {
        if (closed_) {
            (void)m_.unlock(io);
            return Error(Errc::closed, Op::queue_put);
        }
        std::construct_at(&slots_[(head_ + count_) % cap_], std::move(v));
        ++count_;
        not_empty_.signal(io);
        (void)m_.unlock(io);
        return {};
    }
    // Called with m_ held and (count_ > 0 || closed_); releases it.
    Result<T> pop_locked(Io io) noexcept {
        if (count_ == 0) {
            (void)m_.unlock(io);
            return Error(Errc::closed, Op::queue_get);
        }
        T* slot = &slots_[head_];
        Result<T> out(std::move(*slot));
        std::destroy_at(slot);
        head_ = (head_ + 1) % cap_;
        --count_;
        not_full_.signal(io);
        (void)m_.unlock(io);
        return out;
    }

    Mutex m_;
    Condition not_empty_, not_full_;
    const std::size_t cap_;
    T* slots_;
    std::size_t head_ = 0, count_ = 0;  // guarded by m_
    bool closed_ = false;               // guarded by m_
};

}  // namespace zsync
