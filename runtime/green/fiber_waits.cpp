// GreenThreadsIo, the fiber's side of the scheduler: what a fiber does when it waits (an Operation
// parked in its worker's driver, an await of a task or a group, a yield), cancellation of a parked
// fiber, and the direct switches (scheduler.cpp's header says how they fit the worker's loop).
module;
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>
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

void Sched::arm_await(Worker& w, Task* me) noexcept {
    bool now;
    if (Task* t = me->awaiting_task) {
        t->awaiter = me;  // published by the CAS below; read by complete() only if it sees the bit
        std::uint32_t v = t->state.load(std::memory_order_acquire);  // acquire: complete()'s result
        for (;;) {
            if (v & Task::done) { now = true; break; }
            // acq_rel: complete()'s exchange either sees the bit (and our awaiter) or we see done.
            if (t->state.compare_exchange_weak(v, v | Task::fiber_waiter, std::memory_order_acq_rel, std::memory_order_acquire)) { now = false; break; }
        }
    } else {
        Group* g = me->awaiting_group;
        g->awaiter = me;
        std::uint32_t v = g->outstanding.load(std::memory_order_acquire);  // acquire: the tasks' effects
        for (;;) {
            if ((v & Group::count_mask) == 0) { now = true; break; }
            // acq_rel: the last decrement either sees the bit or we see 0.
            if (g->outstanding.compare_exchange_weak(v, v | Group::fiber_waiter, std::memory_order_acq_rel, std::memory_order_acquire)) { now = false; break; }
        }
    }
    if (now) {
        me->dbg.state = zsync_gdb_runnable;
        if (!w.fresh.owner().push(me)) { injector_.push(me); notify(); }
    }
}

bool Sched::fiber_await_task(Task* me, Task* t, bool cancelable) noexcept {
    // Spawn-then-await: `t` usually is still the newest task on this worker's fresh deque, which the
    // worker would pop next anyway. Pop it here and run it inline (no switch at all) when that is as
    // good as its own fiber (inline_ok), else switch straight into its fiber, skipping the worker.
    Task* direct = nullptr;
    Worker* w = current_worker();
    if (w && w->sched == this && me->sched == this && !w->fresh.owner().empty()) {
        Task* top = w->fresh.owner().pop();
        if (top == t) direct = t;
        else if (top && !w->fresh.owner().push(top)) injector_.push(top);  // back where it was (cannot be full)
    }
    if (direct && inline_ok(me, t)) {
        run_inline(me, t);
        return false;
    }
    return park_fiber(me, t->state, t, nullptr, cancelable, direct);
}

bool Sched::inline_ok(Task* me, Task* t) noexcept {
    // Only an `async` task that has not started: `fresh` also holds awaiters whose own wait ended (a
    // started fiber, to be switched into, not run again), and `concurrent` promises a fiber of its own.
    if (!t->may_inline || t->fib->state() != fiber::Fiber::State::created) return false;
    // A protected awaiter: the child would run under its protection, where on its own fiber it starts
    // unprotected (and a request pending for the awaiter must not reach it).
    if (me->cs.protection != Protection::unblocked) return false;
    // relaxed: a request for the child alone (Future::cancel, shutdown's sweep) is read by its own
    // fiber only, so such a child gets one. A request that comes later while it runs inline reaches it
    // through the awaiter: the sweep requests every live task, the awaiter too, and nobody else can
    // name the child (its one Future is the awaiter's).
    if (t->cs.requested.load(std::memory_order_relaxed) != 0) return false;
    // The child's frames go on this stack: only while at least 3/4 of it is free (docs/backends.md),
    // so a chain of inline awaits stops nesting long before the guard page.
    // The frame address, not a local's: under ASan a local may live in a fake frame off this stack.
    auto* here = static_cast<char*>(__builtin_frame_address(0));
    const fiber::Stack& st = me->fib->stack();
    auto* bottom = reinterpret_cast<char*>(st.bottom());
    return here > bottom && static_cast<std::size_t>(here - bottom) >= st.usable_bytes / 4 * 3;
}

void Sched::run_inline(Task* me, Task* t) noexcept {
    t->dbg.worker = me->dbg.worker;
    t->dbg.state = zsync_gdb_running;
    // As BlockingIo's inline child: the awaiter's identity and cancellation state, one unit of
    // concurrency. A request the child consumed was the awaiter's: re-armed for the awaiter.
    ThreadCancelState& cs = me->cs;
    const std::uint32_t before = cs.deliveries;
    t->desc->start(t->args, t->result);
    if (cs.deliveries != before) {
        cs.delivered = true;
        cs.recancel();
    }
    fiber::Stack st = fiber::Fiber::retire(std::move(t->fib));  // never ran
    // current_worker() again: the child may have parked, and this fiber resumed on another worker.
    Worker* now = current_worker();
    if (now->stacks < Worker::stack_cache_size) now->stack_cache[now->stacks++] = st;
    else stacks_->release(st);
    unregister_task(t);
    // No exchange: nobody else waits on t (its one awaiter is this fiber). release: as complete()'s.
    t->state.store(Task::done, std::memory_order_release);
}

bool Sched::fiber_await_group(Task* me, Group* g, bool cancelable) noexcept {
    bool canceled = park_fiber(me, g->outstanding, nullptr, g, cancelable);
    if (canceled) (void)me->cs.take();  // delivered by the group await (it reports canceled)
    return canceled;
}

void Sched::cancel_group(Group* g) noexcept {
    std::lock_guard lock(g->lock);  // a listed task is alive: complete() unlinks under this lock
    for (Task* t = g->head; t; t = t->next) request_cancel(t);
}

bool Sched::park_fiber(Task* me, const Atomic<std::uint32_t>& word, Task* t, Group* g, bool cancelable,
                       Task* direct) noexcept {
    // What a debugger shows as the Operation this fiber waits on: a futex_wait on the word (never performed).
    Operation shown = Operation::futex_wait(word, 0);
    me->lock.lock();
    me->awaiting_task = t;
    me->awaiting_group = g;
    me->cancel_sent = false;
    me->cancelable = cancelable && me->cs.protection == Protection::unblocked;
    // seq_cst: the other half of request_cancel's store (under the same lock, so either order works).
    bool now = me->cancelable && me->cs.requested.load(std::memory_order_seq_cst) != 0;
    if (now) me->cancel_sent = true;
    me->lock.unlock();
    if (now) {  // t and g are alive: this fiber frees them, after the wait
        if (t) request_cancel(t);
        else cancel_group(g);
    }
    me->dbg.waiting = &shown;
    me->dbg.waiting_count = 1;
    me->dbg.state = zsync_gdb_parked;
    if (direct) {
        // arm_await runs on `direct`'s side once this fiber is switched out (it cannot find t done:
        // t starts only after that).
        switch_direct(*current_worker(), me, direct, &arm_await_after_switch);
    } else {
        me->fib->suspend(kAwait());  // the worker arms the wait (arm_await) once we are switched out
    }
    me->dbg.waiting = nullptr;
    me->dbg.waiting_count = 0;
    me->lock.lock();  // after a request_cancel that holds it, which may still be forwarding to t or g
    bool forwarded = me->cancel_sent;
    me->awaiting_task = nullptr;
    me->awaiting_group = nullptr;
    me->cancelable = false;
    me->lock.unlock();
    return forwarded;
}

void Sched::request_cancel(Task* t) noexcept {
    // seq_cst: the fiber reads it under the lock below after publishing its ticket (either side sees the other).
    t->cs.requested.store(1, std::memory_order_seq_cst);
    t->lock.lock();
    if ((t->awaiting_task || t->awaiting_group) && t->cancelable && !t->cancel_sent) {
        // Parked awaiting a task or group: forward once, holding our lock so the awaiter (which clears
        // these under it after resuming) cannot free them meanwhile.
        t->cancel_sent = true;
        if (t->awaiting_task) request_cancel(t->awaiting_task);
        else cancel_group(t->awaiting_group);
        t->lock.unlock();
        return;
    }
    if (t->parked_on && t->cancelable && !t->cancel_sent) {
        t->cancel_sent = true;
        Worker* w = t->parked_on;
        if (t->batch_tickets) {
            // The fiber stays parked (its tickets alive) until the last completion, which takes this lock.
            for (std::size_t i = 0; i < t->batch_count; ++i) w->handle.cancel(t->batch_tickets[i]);
            t->lock.unlock();
            return;
        }
        zsync::reactor::Ticket k = t->ticket;
        t->lock.unlock();
        w->handle.cancel(k);  // a stale ticket (completed meanwhile) is ignored by the driver
        return;
    }
    t->lock.unlock();
}

namespace {
void on_done(std::uintptr_t word, Operation&) noexcept {
    auto* t = reinterpret_cast<Task*>(word);
    t->lock.lock();
    t->parked_on = nullptr;
    t->lock.unlock();
    t->sched->wake_local(*current_worker(), t);
}

// The codes the driver would only perform inline (never waiting): done here, on the fiber, at once.
bool performed_inline(Op c) noexcept {
    switch (c) {
    case Op::socket: case Op::bind: case Op::listen: case Op::shutdown: case Op::socketpair:
    case Op::setsockopt: case Op::getsockname: case Op::getpeername:
        return true;
    default:
        return false;
    }
}
}  // namespace

void Sched::switch_direct(Worker& w, Task* me, Task* next, void (*after)(void*)) noexcept {
    enter(w, next);
    me->fib->switch_to(*next->fib, next, after, me);
    // Resumed, by run() (which set w.current and tls_task) or by another switch_direct, maybe elsewhere.
}

void Sched::requeue_after_switch(void* p) noexcept {
    auto* me = static_cast<Task*>(p);
    Worker& w = *me->last_worker;  // the worker that ran it: this thread's (the switch stays on it)
    Sched* s = me->sched;
    // The ring only while fibers take turns (the one switched to was requeued too): one switched to a
    // new task (fresh, injector) may compute for long, so the yielder must stay stealable. relaxed: a
    // hint only; a searcher that misses this fiber finds it on `woken` after the next spill.
    if (w.took_requeued && w.yield_count < Worker::yield_ring_size &&
        s->searching_.load(std::memory_order_relaxed) == 0) {
        w.push_yielded(me);
        return;
    }
    if (!w.woken.owner().push(me)) s->injector_.push(me);
}

void Sched::arm_await_after_switch(void* p) noexcept {
    auto* me = static_cast<Task*>(p);
    me->sched->arm_await(*me->last_worker, me);  // as requeue_after_switch
}

void Sched::fiber_yield(Task* me) noexcept {
    me->dbg.state = zsync_gdb_runnable;
    Worker& w = *me->last_worker;  // a running fiber's worker is the one that entered it last
    // Between the worker's own turns (every kPollEvery fiber turns: it reaps its driver, then looks at
    // the injector first), a yield passes the turn straight to what the worker would run next (its own
    // deques, then the injector) with one switch, and returns at once when nothing else is runnable
    // here (other workers' deques are theirs to run; a searching worker steals from this one).
    if (++w.since_poll < kPollEvery) {
        Task* next = local_work(w);  // sets w.took_requeued, which requeue_after_switch reads
        if (!next && injector_.maybe_nonempty()) next = injector_.pop();
        if (next) return switch_direct(w, me, next, &requeue_after_switch);
        me->dbg.state = zsync_gdb_running;
        return;
    }
    (void)me->fib->suspend(kYield());
}

void Sched::fiber_operate(Task* me, Operation& op) noexcept {
    if (op.code == Op::close) {
        // Not a cancel point: it runs to completion whatever is requested.
    } else if (me->cs.take()) {
        op.result = Error(Errc::canceled, op.code);
        return;
    }
    if (op.code == Op::yield) {
        op.result = std::uint64_t(0);
        return fiber_yield(me);  // a tail call: fewer returns mispredicted after the switch
    }
    if (op.code == Op::nop) {
        op.result = std::uint64_t(0);
        return;
    }
    if (performed_inline(op.code)) return perform(op, me->cs);
    Worker* w = current_worker();
    zsync::reactor::Ticket k = w->driver->submit(op, zsync::reactor::Completion{&on_done, reinterpret_cast<std::uintptr_t>(me)});
    bool cancel_now = false;
    me->lock.lock();
    me->parked_on = w;
    me->ticket = k;
    me->cancel_sent = false;
    me->cancelable = op.code != Op::close && me->cs.protection == Protection::unblocked;
    // seq_cst: the other half of request_cancel's store (under the same lock, so either order works).
    if (me->cancelable && me->cs.requested.load(std::memory_order_seq_cst) != 0) me->cancel_sent = cancel_now = true;
    me->lock.unlock();
    if (cancel_now) w->driver->cancel(k);
    me->dbg.waiting = &op;
    me->dbg.waiting_count = 1;
    me->dbg.state = zsync_gdb_parked;
    me->fib->suspend(kPark());
    me->dbg.waiting = nullptr;
    me->dbg.waiting_count = 0;
    // A cancelled Operation delivered the request: consume it (once), as every cancel point does.
    if (!op.result && op.result.error().is(Errc::canceled) && me->cs.protection == Protection::unblocked &&
        me->cs.requested.exchange(0, std::memory_order_acq_rel) != 0) {  // acq_rel: as ThreadCancelState::take
        me->cs.delivered = true;
        ++me->cs.deliveries;
    }
}

Result<void> Sched::wait_word(const Atomic<std::uint32_t>* word, std::uint32_t expected, bool cancelable) noexcept {
    Operation op = Operation::futex_wait(*word, expected, Deadline::never());
    Task* me = current_task();
    ThreadCancelState& cs = me ? me->cs : foreground_;
    const Protection saved = cs.protection;
    if (!cancelable) cs.protection = Protection::blocked;
    if (me) me->sched->fiber_operate(me, op);
    else perform(op, cs);
    cs.protection = saved;
    if (!op.result) return op.result.error();
    return {};
}

ThreadCancelState& Sched::cancel_state() noexcept {
    Task* t = current_task();
    return t ? t->cs : foreground_;
}

}  // namespace zsync::rt::green
