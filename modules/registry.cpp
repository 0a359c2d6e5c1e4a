// The frame registry: function address -> FrameDescriptor.
//
// Protocol: entries are pushed at static-initialisation time by generated code (any thread, any order)
// and only read afterwards. Each bucket is a lock-free singly linked list of caller-owned nodes; a push
// is a CAS on the bucket head and nodes are never removed, so readers need no lock and no allocation.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
module zsync;

namespace zsync {

namespace {
constexpr std::size_t bucket_count = 256;
std::atomic<FrameRegistration*> buckets[bucket_count];

std::size_t bucket_of(const void* fn) noexcept {
    auto v = reinterpret_cast<std::uintptr_t>(fn);
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(v >> 56) % bucket_count;
}
}  // namespace

bool register_frame(FrameRegistration& entry) noexcept {
    if (!entry.frame || entry.frame->abi_version != frame_abi_version) return false;
    if (find_frame(entry.function)) return true;  // already registered
    auto& head = buckets[bucket_of(entry.function)];
    // relaxed load: the CAS below re-validates; release on success publishes entry's fields to readers.
    FrameRegistration* old = head.load(std::memory_order_relaxed);
    do {
        entry.next = old;
    } while (!head.compare_exchange_weak(old, &entry, std::memory_order_release, std::memory_order_relaxed));
    return true;
}

const FrameDescriptor* find_frame(const void* function) noexcept {
    // acquire: pairs with the release in register_frame so the node's fields are visible.
    for (FrameRegistration* e = buckets[bucket_of(function)].load(std::memory_order_acquire); e; e = e->next)
        if (e->function == function) return e->frame;
    return nullptr;
}

}  // namespace zsync
