// The reactor's shared core (slots, timers, remote queue) and the public Driver/Handle (zsync:reactor).
module;
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>
#include <ctime>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "../detail/cancel_state.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "core.hpp"
#include "offload/offload_pool.hpp"

namespace zsync::rt::reactor {

namespace {
std::int64_t now_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

Core::Core(unsigned offload_threads) noexcept : offload_threads_(offload_threads) {}

Core::~Core() {
    drain();
    offload_.reset();  // joins the threads; nothing is queued after drain()
    backend.reset();
}

OffloadPool& Core::offload() noexcept {
    if (!offload_) offload_ = std::make_unique<OffloadPool>(*this, offload_threads_);
    return *offload_;
}

std::uint32_t Core::alloc_slot() noexcept {
    if (free_head_ == npos) {
        // A new chunk: slots never move, so the kernel may hold pointers into their scratch.
        auto base = static_cast<std::uint32_t>(chunks_.size() * chunk_size);
        chunks_.push_back(std::make_unique<Slot[]>(chunk_size));
        for (std::uint32_t i = chunk_size; i-- > 0;) {
            slot(base + i).next = free_head_;
            free_head_ = base + i;
        }
    }
    std::uint32_t idx = free_head_;
    free_head_ = slot(idx).next;
    ++live_;
    return idx;
}

void Core::free_slot(std::uint32_t idx) noexcept {
    Slot& s = slot(idx);
    s.where = Where::free;
    s.reason = Reason::none;
    s.phase = 0;
    s.op = nullptr;
    ++s.gen;
    s.next = free_head_;
    s.prev = npos;
    free_head_ = idx;
    --live_;
}

Ticket Core::submit(Operation& op, Completion done) noexcept {
    std::uint32_t idx = alloc_slot();
    Slot& s = slot(idx);
    s.op = &op;
    s.done = done;
    s.next = s.prev = npos;
    Deadline d = deadline_of(op);
    Ticket t{idx, s.gen};
    if (!d.is_never()) {
        s.deadline_ns = d.ns;
        heap_push(idx);
    }
    if (op.code == Op::sleep) {
        // The heap alone serves it (100k sleeps cost no syscalls); until never: only cancel ends it.
        s.where = Where::timer_only;
        return t;
    }
    backend->start(idx, s);
    return t;
}

void Core::cancel(Ticket t) noexcept {
    if (t.index >= chunks_.size() * chunk_size) return;
    Slot& s = slot(t.index);
    if (s.gen != t.generation || s.where == Where::free || s.where == Where::ready) return;
    if (s.reason != Reason::none) return;  // a stop is already under way: one completion only
    s.reason = Reason::canceled;
    if (s.where == Where::timer_only) {
        defer(t.index, Error(Errc::canceled, s.op->code));
        return;
    }
    backend->cancel(t.index, s);
}

Result<std::uint64_t> Core::mapped(const Slot& s, Result<std::uint64_t> r) noexcept {
    if (s.reason == Reason::none || r) return r;
    const Error& e = r.error();
    if (e.is(Errc::canceled) || e.is(std::errc::operation_canceled) || e.is(std::errc::interrupted))
        return Error(s.reason == Reason::timeout ? Errc::timeout : Errc::canceled, s.op->code);
    return r;
}

void Core::finish(std::uint32_t idx, Result<std::uint64_t> r) noexcept {
    Slot& s = slot(idx);
    if (s.heap_pos != npos) heap_remove(idx);
    Operation& op = *s.op;
    Completion c = s.done;
    op.result = mapped(s, r);
    free_slot(idx);  // before the callback: it may submit again into this slot
    ++completions_;
    c.fn(c.word, op);
}

void Core::defer(std::uint32_t idx, Result<std::uint64_t> r) noexcept {
    Slot& s = slot(idx);
    if (s.heap_pos != npos) heap_remove(idx);
    s.where = Where::ready;
    ready_.push_back({idx, mapped(s, r)});
}

void Core::run_ready() noexcept {
    // Only what was ready when this began: completions that submit work that is ready at once do not
    // starve the rest of the turn.
    running_.swap(ready_);
    for (auto& e : running_) {
        Slot& s = slot(e.idx);
        Operation& op = *s.op;
        Completion c = s.done;
        op.result = e.r;
        free_slot(e.idx);
        ++completions_;
        c.fn(c.word, op);
    }
    running_.clear();
}

// ---- timers: an indexed binary min-heap on Slot::deadline_ns --------------------------------------

void Core::heap_push(std::uint32_t idx) noexcept {
    slot(idx).heap_pos = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(idx);
    heap_up(slot(idx).heap_pos);
}

void Core::heap_remove(std::uint32_t idx) noexcept {
    std::uint32_t pos = slot(idx).heap_pos;
    slot(idx).heap_pos = npos;
    std::uint32_t last = heap_.back();
    heap_.pop_back();
    if (last == idx) return;
    heap_[pos] = last;
    slot(last).heap_pos = pos;
    heap_up(pos);
    heap_down(slot(last).heap_pos);
}

void Core::heap_up(std::uint32_t pos) noexcept {
    std::uint32_t idx = heap_[pos];
    std::int64_t d = slot(idx).deadline_ns;
    while (pos > 0) {
        std::uint32_t parent = (pos - 1) / 2;
        if (slot(heap_[parent]).deadline_ns <= d) break;
        heap_[pos] = heap_[parent];
        slot(heap_[pos]).heap_pos = pos;
        pos = parent;
    }
    heap_[pos] = idx;
    slot(idx).heap_pos = pos;
}

void Core::heap_down(std::uint32_t pos) noexcept {
    auto n = static_cast<std::uint32_t>(heap_.size());
    std::uint32_t idx = heap_[pos];
    std::int64_t d = slot(idx).deadline_ns;
    for (;;) {
        std::uint32_t c = 2 * pos + 1;
        if (c >= n) break;
        if (c + 1 < n && slot(heap_[c + 1]).deadline_ns < slot(heap_[c]).deadline_ns) ++c;
        if (slot(heap_[c]).deadline_ns >= d) break;
        heap_[pos] = heap_[c];
        slot(heap_[pos]).heap_pos = pos;
        pos = c;
    }
    heap_[pos] = idx;
    slot(idx).heap_pos = pos;
}

void Core::expire_timers() noexcept {
    if (heap_.empty()) return;
    std::int64_t now = now_ns();
    while (!heap_.empty() && slot(heap_[0]).deadline_ns <= now) {
        std::uint32_t idx = heap_[0];
        Slot& s = slot(idx);
        heap_remove(idx);
        if (s.where == Where::timer_only) {
            defer(idx, std::uint64_t(0));
        } else if (s.reason == Reason::none && s.where != Where::ready) {
            s.reason = Reason::timeout;
            backend->cancel(idx, s);
        }
    }
}

// ---- work from other threads -----------------------------------------------------------------------

void Core::post_done(std::uint32_t idx, std::uint32_t gen, Result<std::uint64_t> r) noexcept {
    {
        std::lock_guard lock(remote_mu_);
        remote_done_.push_back({idx, gen, r});
        remote_any_.store(1, std::memory_order_relaxed);  // relaxed: a hint; the mutex orders the data
    }
    wake();
}

void Core::post_cancel(Ticket t) noexcept {
    {
        std::lock_guard lock(remote_mu_);
        remote_cancel_.push_back(t);
        remote_any_.store(1, std::memory_order_relaxed);
    }
    wake();
}

void Core::drain_remote() noexcept {
    // relaxed: only a hint, read on turns without a wake; after a wake the lock is taken regardless
    // (must_drain_), which is what the wake protocol's argument relies on.
    if (!must_drain_ && remote_any_.load(std::memory_order_relaxed) == 0) return;
    must_drain_ = false;
    {
        std::lock_guard lock(remote_mu_);
        remote_any_.store(0, std::memory_order_relaxed);
        remote_done_swap_.swap(remote_done_);
        remote_cancel_swap_.swap(remote_cancel_);
    }
    for (auto& d : remote_done_swap_) {
        Slot& s = slot(d.idx);
        if (s.gen == d.gen && (s.where == Where::offload || s.where == Where::futex)) defer(d.idx, d.r);
    }
    remote_done_swap_.clear();
    for (auto& t : remote_cancel_swap_) cancel(t);
    remote_cancel_swap_.clear();
}

std::size_t Core::turn(Deadline until, bool may_wait) noexcept {
    completions_ = 0;
    drain_remote();
    std::int64_t timeout = 0;
    if (may_wait && ready_.empty()) {
        std::int64_t limit = until.ns;
        if (!heap_.empty()) limit = std::min(limit, slot(heap_[0]).deadline_ns);
        if (limit == Deadline::never().ns) timeout = -1;
        else timeout = std::max<std::int64_t>(0, limit - now_ns());
    }
    // epoll: a turn that begins with completions ready (deferred by the previous turn: an inline send
    // or recv that succeeded, a nop) and would only poll with a zero timeout skips that epoll_wait
    // every other time: readiness is still looked at at least every second turn, and an echo at K=1
    // makes one epoll_wait per message instead of two (docs/benchmarks.md, "Reactor"). io_uring
    // always turns: the callbacks' new SQEs are submitted there.
    const bool skip = timeout == 0 && !ready_.empty() && !skipped_last_ && backend->kind() == Kind::epoll;
    skipped_last_ = skip;
    if (!skip) backend->turn(timeout);
    expire_timers();
    drain_remote();
    run_ready();
    return completions_;
}

void Core::drain() noexcept {
    if (!backend) return;
    for (std::size_t c = 0; c < chunks_.size(); ++c)
        for (std::uint32_t i = 0; i < chunk_size; ++i) {
            auto idx = static_cast<std::uint32_t>(c * chunk_size + i);
            Slot& s = slot(idx);
            if (s.where != Where::free) cancel({idx, s.gen});
        }
    while (live_ > 0) turn(Deadline::never(), true);
}

}  // namespace zsync::rt::reactor

// ---- the public surface ------------------------------------------------------------------------------

namespace zsync::reactor {

using rt::reactor::Core;

namespace {
Core* core(void* p) noexcept { return static_cast<Core*>(p); }

// ZSYNC_REACTOR=uring|epoll forces a kind (for automatic only).
Kind from_env() noexcept {
    const char* v = std::getenv("ZSYNC_REACTOR");
    if (!v) return Kind::automatic;
    std::string_view s(v);
    if (s == "uring" || s == "io_uring") return Kind::uring;
    if (s == "epoll") return Kind::epoll;
    return Kind::automatic;
}
}  // namespace

std::string_view kind_name(Kind k) noexcept {
    switch (k) {
    case Kind::uring: return "uring";
    case Kind::epoll: return "epoll";
    default: return "automatic";
    }
}

Driver::Driver(Options o) : core_(new Core(o.offload_threads)) {
    Core* c = core(core_);
    Kind k = o.kind == Kind::automatic ? from_env() : o.kind;
    std::string_view why;
    if (k != Kind::epoll) {
        c->backend = rt::reactor::make_uring(*c, o.entries ? o.entries : 256, why);
        if (!c->backend) {
            // Logged once per process: every driver of a program falls back for the same reason.
            static std::once_flag once;
            std::call_once(once, [&] {
                std::fprintf(stderr, "zsync: reactor: io_uring unavailable (%.*s); using epoll\n", int(why.size()), why.data());
            });
            c->fallback_reason = why;
        }
    }
    if (!c->backend) {
        std::string_view why2;
        c->backend = rt::reactor::make_epoll(*c, why2);
        if (!c->backend) {
            std::fprintf(stderr, "zsync: reactor: epoll unavailable (%.*s)\n", int(why2.size()), why2.data());
            std::abort();  // no event source at all: nothing can be served
        }
    }
}

Driver::~Driver() { delete core(core_); }

Kind Driver::kind() const noexcept { return core(core_)->backend->kind(); }
std::string_view Driver::fallback_reason() const noexcept { return core(core_)->fallback_reason; }
Ticket Driver::submit(Operation& op, Completion done) noexcept { return core(core_)->submit(op, done); }
void Driver::cancel(Ticket t) noexcept { core(core_)->cancel(t); }
std::size_t Driver::poll() noexcept { return core(core_)->turn(Deadline::never(), false); }
std::size_t Driver::run_until(Deadline until) noexcept { return core(core_)->turn(until, true); }
std::size_t Driver::in_flight() const noexcept { return core(core_)->live(); }
Handle Driver::handle() const noexcept {
    Handle h;
    h.core_ = core_;
    return h;
}

void Handle::wake() const noexcept { core(core_)->wake(); }
void Handle::cancel(Ticket t) const noexcept { core(core_)->post_cancel(t); }

}  // namespace zsync::reactor
