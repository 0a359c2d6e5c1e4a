#include "fiber/stack_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "fiber/guard.hpp"

namespace zsync::rt::fiber {
namespace {

std::size_t page_size() noexcept {
    static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return p;
}

std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

}  // namespace

std::expected<std::unique_ptr<StackPool>, FiberError> StackPool::make(const StackConfig& config) {
    if (config.stack_bytes == 0) return std::unexpected(FiberError{EINVAL, "fiber stack pool: stack size is 0"});
    if (config.stack_bytes > (std::size_t{1} << 40))
        return std::unexpected(FiberError{EINVAL, "fiber stack pool: stack size above 1 TiB"});
    if (config.max_cached > (std::size_t{1} << 24))
        return std::unexpected(FiberError{EINVAL, "fiber stack pool: max_cached above 16M stacks"});
    const std::size_t page = page_size();
    std::size_t guard = round_up(config.guard_bytes == 0 ? page : config.guard_bytes, page);
    return std::unique_ptr<StackPool>(new StackPool(round_up(config.stack_bytes, page), guard, config.max_cached));
}

StackPool& StackPool::this_thread() {
    thread_local std::unique_ptr<StackPool> pool = std::move(*make(StackConfig{}));
    return *pool;
}

StackPool::StackPool(std::size_t stack_bytes, std::size_t guard_bytes, std::size_t max_cached)
    : stack_bytes_(stack_bytes), guard_bytes_(guard_bytes), max_cached_(max_cached) {
    cache_.reserve(max_cached_);
    install_guard_handler();
}

StackPool::~StackPool() {
    for (const Stack& s : cache_) ::munmap(s.base, s.guard_bytes + s.usable_bytes);
    // Stacks still handed out stay mapped: a fiber may still run on one (documented misuse, not a crash).
}

std::expected<Stack, FiberError> StackPool::acquire() {
    {
        std::lock_guard lock(mutex_);
        if (!cache_.empty()) {
            Stack s = cache_.back();
            cache_.pop_back();
            ++outstanding_;
            return s;
        }
        ++maps_;
    }
    const std::size_t total = guard_bytes_ + stack_bytes_;
    void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                     -1, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        return std::unexpected(FiberError{e, e == ENOMEM ? "fiber stack: mmap failed (out of memory or address space)"
                                                        : "fiber stack: mmap failed"});
    }
    if (::mprotect(p, guard_bytes_, PROT_NONE) != 0) {
        int e = errno;
        ::munmap(p, total);
        return std::unexpected(FiberError{e, e == ENOMEM ? "fiber stack: mprotect of the guard page failed (out of "
                                                           "memory or vm.max_map_count mappings)"
                                                         : "fiber stack: mprotect of the guard page failed"});
    }
    std::lock_guard lock(mutex_);
    ++outstanding_;
    return Stack{static_cast<std::byte*>(p), guard_bytes_, stack_bytes_};
}

void StackPool::release(Stack s) noexcept {
    if (!s) return;
    {
        std::lock_guard lock(mutex_);
        --outstanding_;
        if (cache_.size() < max_cached_) {
            cache_.push_back(s);  // capacity reserved: no allocation
            return;
        }
    }
    ::munmap(s.base, s.guard_bytes + s.usable_bytes);
}

std::uint64_t StackPool::maps() const noexcept {
    std::lock_guard lock(mutex_);
    return maps_;
}
std::size_t StackPool::cached() const noexcept {
    std::lock_guard lock(mutex_);
    return cache_.size();
}
std::size_t StackPool::outstanding() const noexcept {
    std::lock_guard lock(mutex_);
    return outstanding_;
}

}  // namespace zsync::rt::fiber
