// A fixed-capacity Chase-Lev work-stealing deque of pointers (Lê, Pop, Cohen, Zappa Nardelli, "Correct
// and Efficient Work-Stealing for Weak Memory Models", PPoPP 2013), with the owner's and the stealers'
// operations on distinct handle types so the type system keeps stealers away from push/pop.
//
// Protocol: the owner pushes and pops at `bottom`; stealers take from `top`. The only contended
// operation is taking the last element, decided by a CAS on `top`. Capacity is fixed: push reports
// "full" instead of growing (ThreadPoolIo then runs the task inline, its documented policy).
#pragma once
#include <cstddef>
#include <cstdint>
#include "../detail/atomics.hpp"

namespace zsync::rt {

template <class T, std::size_t Capacity = 4096>
class WorkDeque {
    static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");
    static constexpr std::int64_t mask = Capacity - 1;

public:
    // Push and pop: only the thread that owns the deque.
    class Owner {
    public:
        explicit Owner(WorkDeque& d) noexcept : d_(d) {}
        // False when full (nothing was pushed).
        bool push(T* item) noexcept {
            std::int64_t b = d_.bottom_.load(std::memory_order_relaxed);  // relaxed: only the owner writes bottom
            std::int64_t t = d_.top_.load(std::memory_order_acquire);     // acquire: see slots freed by steals
            if (b - t >= static_cast<std::int64_t>(Capacity)) return false;
            d_.slots_[b & mask].store(item, std::memory_order_relaxed);   // relaxed: published by the release below
            d_.bottom_.store(b + 1, std::memory_order_release);           // release: item's contents and slot visible to stealers
            return true;
        }
        // The most recently pushed item, or nullptr.
        T* pop() noexcept {
            std::int64_t b = d_.bottom_.load(std::memory_order_relaxed) - 1;  // relaxed: only the owner writes bottom
            d_.bottom_.store(b, std::memory_order_relaxed);                   // relaxed: ordered by the fence below
            fence_seq_cst();  // seq_cst: order the bottom decrement before reading top (races with steal's fence)
            std::int64_t t = d_.top_.load(std::memory_order_relaxed);
            if (t > b) {  // empty
                d_.bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: restores the owner's own value
                return nullptr;
            }
            T* item = d_.slots_[b & mask].load(std::memory_order_relaxed);  // relaxed: the owner wrote it
            if (t == b) {  // the last element: race stealers for it
                // seq_cst: the single total order decides owner vs. stealer for this element.
                if (!d_.top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) item = nullptr;
                d_.bottom_.store(b + 1, std::memory_order_relaxed);  // relaxed: the CAS above decided the race
            }
            return item;
        }
        bool empty() const noexcept { return d_.size() <= 0; }

    private:
        WorkDeque& d_;
    };

    // Steal: any thread.
    class Stealer {
    public:
        explicit Stealer(WorkDeque& d) noexcept : d_(&d) {}
        // The oldest item, or nullptr when empty or when another thread won the race for it.
        T* steal() noexcept {
            std::int64_t t = d_->top_.load(std::memory_order_acquire);    // acquire: pairs with the CAS of other stealers
            fence_seq_cst();  // seq_cst: pairs with pop's fence so owner and stealer agree on the last element
            std::int64_t b = d_->bottom_.load(std::memory_order_acquire); // acquire: pairs with push's release (item contents)
            if (t >= b) return nullptr;
            T* item = d_->slots_[t & mask].load(std::memory_order_relaxed);  // relaxed: bottom's acquire published it
            // seq_cst: see pop(); failure means another thief or the owner took it.
            if (!d_->top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
            return item;
        }
        bool maybe_nonempty() const noexcept { return d_->size() > 0; }
        std::int64_t size_estimate() const noexcept { return d_->size(); }  // racy, as maybe_nonempty
        // Which item is the oldest: its position, a racy estimate (relaxed). It moves on whenever that
        // item is taken, by a steal or by the owner popping the last element, so a position seen twice
        // a while apart means the same item sat there all along.
        std::int64_t oldest() const noexcept { return d_->top_.load(std::memory_order_relaxed); }

    private:
        WorkDeque* d_;
    };

    Owner owner() noexcept { return Owner(*this); }
    Stealer stealer() noexcept { return Stealer(*this); }

private:
    // A racy estimate (relaxed): used only to decide whether looking is worthwhile.
    std::int64_t size() const noexcept {
        return bottom_.load(std::memory_order_relaxed) - top_.load(std::memory_order_relaxed);
    }
    alignas(64) Atomic<std::int64_t> top_{0};
    alignas(64) Atomic<std::int64_t> bottom_{0};
    alignas(64) Atomic<T*> slots_[Capacity]{};
};

}  // namespace zsync::rt
