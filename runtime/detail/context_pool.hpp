// Backend contexts that outlive their backend, so that a stale Io is detected instead of dereferencing
// freed memory (Errc::io_gone).
//
// Each backend object takes a Node from a process-wide free list and hands out Io::ctx as the node's
// address with the node's 16-bit generation in the top bits. Nodes are never returned to the OS; on
// release the generation is bumped, so every Io made before fails resolve(). A stale Io is only
// mistaken for a live one after 65,536 reuses of the same node, and only if it is used that late.
// x86-64 and AArch64 user-space pointers fit in 48 bits (checked at acquire).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace zsync::rt {

template <class T>
class ContextPool {
public:
    struct Node {
        // relaxed everywhere: a stale reader only compares it; the backend object's own lifetime is
        // ordered by whoever destroys it (destroying a backend while using it is a user race).
        std::atomic<std::uint16_t> generation{1};
        Node* next_free = nullptr;
        T value{};
    };

    // A fresh context; `out` points at its (default-constructed or reset) value.
    static void* acquire(T*& out) {
        Node* n;
        {
            std::lock_guard lock(mutex());
            n = free_list();
            if (n) free_list() = n->next_free;
        }
        if (!n) n = new Node;  // never freed: stale Io values may still point here
        n->value.reset();
        auto addr = reinterpret_cast<std::uintptr_t>(n);
        if (addr >> 48) std::abort();  // pointer does not fit the tag scheme (unsupported address space)
        out = &n->value;
        // relaxed: the generation is only compared (see the member's comment).
        return reinterpret_cast<void*>(addr | (std::uintptr_t(n->generation.load(std::memory_order_relaxed)) << 48));
    }

    // The live value for `ctx`, or nullptr when its backend was destroyed.
    static T* resolve(void* ctx) noexcept {
        auto v = reinterpret_cast<std::uintptr_t>(ctx);
        Node* n = reinterpret_cast<Node*>(v & ((std::uintptr_t(1) << 48) - 1));
        // relaxed: see the member's comment.
        if (!n || n->generation.load(std::memory_order_relaxed) != static_cast<std::uint16_t>(v >> 48)) return nullptr;
        return &n->value;
    }

    static void release(void* ctx) noexcept {
        auto v = reinterpret_cast<std::uintptr_t>(ctx);
        Node* n = reinterpret_cast<Node*>(v & ((std::uintptr_t(1) << 48) - 1));
        // relaxed: see the member's comment; the free list itself is under the mutex.
        std::uint16_t g = n->generation.load(std::memory_order_relaxed) + 1;
        n->generation.store(g == 0 ? 1 : g, std::memory_order_relaxed);
        std::lock_guard lock(mutex());
        n->next_free = free_list();
        free_list() = n;
    }

private:
    static std::mutex& mutex() { static std::mutex m; return m; }
    static Node*& free_list() { static Node* head = nullptr; return head; }
};

}  // namespace zsync::rt
