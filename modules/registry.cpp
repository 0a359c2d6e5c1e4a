// The frame registry: function address -> FrameDescriptor.
//
// Protocol: entries are pushed at static-initialisation time by generated code (any thread, any order)
// and only read afterwards. Each bucket is a lock-free singly linked list of caller-owned nodes; a push
// is a CAS on the bucket head and nodes are never removed, so readers need no lock and no allocation.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
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

FrameLookup find_frame(const TaskStart& task) noexcept {
    FrameLookup out;
    const FrameDescriptor* f = task.function ? find_frame(task.function) : nullptr;
    if (!f) return out;  // no frame: the stackful start runs the task
    const TaskDescriptor& d = *task.descriptor;
    if (f->args_size != d.args_size || f->args_align != d.args_align || f->args_signature != d.args_signature) {
        out.error = Error(Errc::frame_mismatch, Op::async);
        out.function = f->name;
        return out;
    }
    out.frame = f;
    return out;
}

std::string FrameLookup::message(const TaskStart& task) const {
    if (error.code() != Errc::frame_mismatch) return frame ? "frame found" : "no frame registered";
    const FrameDescriptor* f = find_frame(task.function);
    const TaskDescriptor& d = *task.descriptor;
    auto block = [](std::uint32_t size, std::uint32_t align, std::uint64_t sig) {
        return std::to_string(size) + "-byte argument block (align " + std::to_string(align) + ", signature " +
               std::to_string(sig) + ")";
    };
    std::string m = "the frame of `";
    m += function ? function : "?";
    m += "` reads a ";
    m += f ? block(f->args_size, f->args_align, f->args_signature) : std::string("different argument block");
    m += " but the task passed a " + block(d.args_size, d.args_align, d.args_signature) +
         ": refusing to run it (rebuild every object file of this function through zsync-gen)";
    return m;
}

}  // namespace zsync
