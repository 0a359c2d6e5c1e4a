// The pool's global queue for tasks that come from outside the workers (or overflow): FIFO, many
// producers, many consumers. A mutex is enough here — tasks from outside are not the hot path — and
// the size counter lets idle workers check for work without taking it.
#pragma once
#include <cstddef>
#include <mutex>
#include "../detail/atomics.hpp"

namespace zsync::rt {

// T must have a `T* queue_next` member the queue may use while the item is queued. It must not share
// that member with another list the item is on meanwhile (a pool Task is on its group's list too).
template <class T>
class Injector {
public:
    void push(T* item) noexcept {
        item->queue_next = nullptr;
        std::lock_guard lock(mutex_);
        if (tail_) tail_->queue_next = item;
        else head_ = item;
        tail_ = item;
        size_.fetch_add(1, std::memory_order_release);  // release: pairs with maybe_nonempty's acquire
    }
    T* pop() noexcept {
        if (!maybe_nonempty()) return nullptr;
        std::lock_guard lock(mutex_);
        T* item = head_;
        if (!item) return nullptr;
        head_ = item->queue_next;
        if (!head_) tail_ = nullptr;
        size_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: the mutex orders the list itself
        return item;
    }
    // acquire: pairs with push's release increment (a hint only; pop re-checks under the mutex).
    bool maybe_nonempty() const noexcept { return size_.load(std::memory_order_acquire) > 0; }

private:
    std::mutex mutex_;
    T* head_ = nullptr;
    T* tail_ = nullptr;
    Atomic<std::size_t> size_{0};
};

}  // namespace zsync::rt
