// GreenThreadsIo's Io::batch inside a fiber: every Operation submitted to the worker's driver before
// the fiber parks, so io_uring gets them in one io_uring_enter (the driver's next turn), and one
// wake-up when the last completes. Cancellation: the batch is one cancel point. A request seen before
// submitting fails every Operation but close (which still runs); one that arrives while parked cancels
// every ticket once (Sched::request_cancel, under the task's lock, as for a single Operation).
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>
#include "../detail/atomics.hpp"
#include "../detail/cancel_state.hpp"
#include "../pool/work_deque.hpp"
#include "../pool/injector.hpp"
#include "fiber/fiber.hpp"
#include "gdb_registry.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "green_state.hpp"

namespace zsync::rt::green {

namespace {
struct BatchWait {
    Task* me;
    std::size_t remaining;
};

void on_batch_done(std::uintptr_t word, Operation&) noexcept {
    auto* b = reinterpret_cast<BatchWait*>(word);
    if (--b->remaining != 0) return;  // completions run on the driver's thread only: no race
    Task* t = b->me;
    t->lock.lock();
    t->parked_on = nullptr;
    t->batch_tickets = nullptr;
    t->batch_count = 0;
    t->lock.unlock();
    t->sched->wake_local(*current_worker(), t);
}
}  // namespace

void Sched::fiber_batch(Task* me, Operation* ops, std::size_t count) noexcept {
    if (count == 0) return;
    const bool canceled_now = me->cs.take();
    // Small batches keep their tickets on the fiber's stack; a large one allocates (or, without memory,
    // is performed one Operation at a time, still correct).
    zsync::reactor::Ticket small[16];
    std::unique_ptr<zsync::reactor::Ticket[]> big;
    zsync::reactor::Ticket* tickets = small;
    if (count > 16) {
        big.reset(new (std::nothrow) zsync::reactor::Ticket[count]);
        if (!big) {
            if (canceled_now) me->cs.recancel();
            for (std::size_t i = 0; i < count; ++i) fiber_operate(me, ops[i]);
            return;
        }
        tickets = big.get();
    }
    BatchWait wait{me, 0};
    Worker* w = current_worker();
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) {
        Operation& op = ops[i];
        if (canceled_now && op.code != Op::close) {
            op.result = Error(Errc::canceled, op.code);
            continue;
        }
        ++wait.remaining;
        tickets[n++] = w->driver->submit(op, zsync::reactor::Completion{&on_batch_done, reinterpret_cast<std::uintptr_t>(&wait)});
    }
    if (n == 0) return;
    bool cancel_now = false;
    me->lock.lock();
    me->parked_on = w;
    me->batch_tickets = tickets;
    me->batch_count = n;
    me->cancel_sent = false;
    me->cancelable = !canceled_now && me->cs.protection == Protection::unblocked;
    // seq_cst: the other half of request_cancel's store (under the same lock).
    if (me->cancelable && me->cs.requested.load(std::memory_order_seq_cst) != 0) me->cancel_sent = cancel_now = true;
    me->lock.unlock();
    if (cancel_now)
        for (std::size_t i = 0; i < n; ++i) w->driver->cancel(tickets[i]);
    me->dbg.waiting = &ops[0];
    me->dbg.waiting_count = static_cast<std::uint32_t>(count);
    me->dbg.state = zsync_gdb_parked;
    me->fib->suspend(kPark());
    me->dbg.waiting = nullptr;
    me->dbg.waiting_count = 0;
    bool any_canceled = false;
    for (std::size_t i = 0; i < count; ++i)
        if (!ops[i].result && ops[i].result.error().is(Errc::canceled)) any_canceled = true;
    // acq_rel: as ThreadCancelState::take (the batch's one delivery).
    if (any_canceled && !canceled_now && me->cs.protection == Protection::unblocked &&
        me->cs.requested.exchange(0, std::memory_order_acq_rel) != 0) {
        me->cs.delivered = true;
        ++me->cs.deliveries;
    }
}

}  // namespace zsync::rt::green
