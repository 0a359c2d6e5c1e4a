// ThreadPoolIo's scheduler: workers, spawning, awaiting, parking and shutdown.
//
// Spawn. A worker pushes to its own deque; if the deque is full the task runs inline at once (the
// saturation policy: `async` may always run inline). Any other thread pushes to the injector.
// Then notify() wakes one parked worker, unless a worker is searching, or the task is a lone one.
//
// Lone tasks. A task a worker pushes onto its own EMPTY deque is usually awaited at once by the task
// that spawned it and popped back within nanoseconds (spawn-then-await); waking a worker for it costs
// the spawner a futex_wake and puts a spinning searcher beside it, for nothing (measured: 2 workers
// ran spawn+await at about 1.6x the time of 1 worker). So a lone task wakes nobody. It is still found:
//   - by a searcher, if one is looking (it takes a task that stays queued for one round);
//   - by announce(): before the worker blocks in an Operation or a batch (a syscall, a futex wait),
//     it wakes a worker for a task still in its deque; awaiting a task pops the deque first;
//   - by a timed sleeper: while any worker is not parked, at least one parked worker sleeps with a
//     timeout (1 ms, doubling to 16 ms while it finds nothing) and searches when it ends. The others,
//     and the last worker to park, sleep without one ("deep"); a worker that leaves park and finds a
//     task wakes a deep sleeper when every parked worker is deep (became_active), which then parks
//     again timed. (A timed sleeper that times out and parks again sees every other parked worker
//     deep, so it stays timed.)
//     The count of parked and of deep workers is one word, so "I am the last, I sleep deep" and "I
//     left park" are ordered: whoever comes second sees the other.
//   So the one schedule that waits is a lone task behind pure computation that makes no Operation
//   (`auto f = io.async(g); compute(); f.await(io);`): g starts within a timed sleeper's timeout, or
//   runs inline at the await. A second task pushed while one is queued is announced at once.
//
// Searching (the idle/searching protocol of Go's and Tokio's schedulers). A worker that finds no work
// becomes a searcher (searching += 1; at most half the workers, rounded up, search at once) and
// looks again for a while (spin_rounds of find_work with cpu_relax between) before it parks. A
// producer that sees searching > 0 wakes nobody: a searcher will find the task. So a worker that
// spawns and then awaits (and usually pops the task itself) costs no futex syscall while the other
// workers are busy or searching; before, every spawn woke a parked worker, which found nothing (the
// spawner had taken the task back) and parked again.
//   - A searcher that gives up: searching -= 1; fence; look at every queue once more, and only then
//     park. Producer: push; fence; read searching. Of "push, read searching" and "leave searching, read
//     queues" at least one side sees the other: the task is either seen by the producer's wake-up
//     decision or by the leaving searcher.
//   - A searcher that finds work leaves searching; if it was the last searcher it calls notify() for
//     the producers that relied on it (more work may be queued; Tokio's rule).
//   - notify() counts the worker it wakes as searching before it wakes it (searching 0 -> 1, plus a
//     wake token), as Tokio does: until the woken thread runs (on a busy machine, milliseconds) the
//     spawns see a searcher and make no more futex_wake calls. A worker leaving park() claims a token
//     if there is one and is then a searcher; a worker about to sleep with a token pending does not
//     sleep. So a token always finds a worker, and the count it holds is released by that worker's
//     search like any other.
//
// Parking, with no lost wake-up. Worker: e = epoch; parked += 1; fence; if any queue looks non-empty
// or we are stopping, undo and return; else futex_wait(epoch, e). Producer: push (release); fence;
// if nobody searches and parked > 0: epoch += 1, futex_wake(epoch, 1). The two seq_cst fences order
// "push, read parked" against "count self, read queues": at least one side sees the other.
//
// Await policy. A worker awaiting task T first runs tasks from its OWN deque, most recent first, until
// T is done or the deque is empty (spawn-then-await locality: T itself is usually on top). Those tasks
// were queued by the awaiting task or by tasks it ran, and running them here is a schedule `async`
// already permits. It never steals while awaiting: unrelated work on this stack could wait for
// something the awaiting task does later. Then it blocks on T's state word (a futex), uninterruptibly.
// Cancellation of the awaiting task A is passed on to T by the requester itself (cancel_task): while
// A awaits, A->awaiting_task names T, so the request reaches T (by T's own signal if T is blocked in a
// syscall) even when T runs nested on A's thread, where a signal to A would reach nothing. A's own
// request stays pending for A's next cancel point. Group awaits work the same way via awaiting_group.
//
// Cancelling many tasks is O(N). A request (cancel_task) stores the flag and sends the interrupt once
// (ThreadCancelState::request_async) and never waits for the target to acknowledge; it sets the
// target's canceling bit (a group's, for cancel_group), which changes the futex word its awaiters
// sleep on. An awaiter that sees the bit waits with timeouts (NudgeBackoff: from 2 ms, or 20 ms for a group, doubling to 200 ms)
// and on each timeout re-sends the interrupts that are still unacknowledged along the await chain
// (nudge_task / nudge_group): that covers the signal lost in the window before the syscall. Shutdown
// polls its threads' ends the same way. So the common path costs one flag, one signal and one wake-up
// per task; only a lost signal costs a timeout. (Before, each request waited for its target with a
// back-off, serially, under the group's spin lock, which the finished targets then spun on.)
//
// Shutdown (~Pool), numbered; each step names the race it closes:
//   1. stopping = true (seq_cst). From now on dispatch() fails tasks instead of running them, and
//      spawn() refuses new ones (shut_down).
//   2. Wait until no spawn from a non-worker thread is between its stopping check and its push
//      (`injecting` counter): after this, the injector receives nothing more. Fail what it holds now:
//      a worker may already have exited past a late push that a task on another worker awaits.
//   3. Sweep: request cancellation of the task each worker and each extra thread is running, under
//      that thread's `current` lock (extra threads: `extra_mutex_`). run_task publishes `current` under
//      the same lock and only then checks `stopping`, so a task either is seen by the sweep or sees
//      stopping and is not run. A worker whose task awaits runs other tasks nested inside that await:
//      the sweep sees only the innermost one, so when a nested task ends (or is failed unrun because
//      it saw stopping) run_task itself cancels the task it returns to (an outer task never started
//      running after step 1, so it was not swept before).
//   4. Wake every parked worker; each drains its deque (failing what it finds) and exits when its deque
//      is empty. Join them.
//   5. Fail whatever is left in the injector. A worker may have exited just before a last push from an
//      extra thread became visible to it; that task may be awaited by an extra thread's task, so this
//      must happen before step 6 waits for those.
//   6. Join the extra threads of `concurrent` (their tasks were cancelled in step 3; spawn_concurrent
//      checks `stopping` under extra_mutex_, so none is added after the sweep).
// A task that ignores cancellation and never returns keeps shutdown waiting: there is no safe way to
// stop a thread that runs user code.
module;
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <vector>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../detail/atomics.hpp"
#include "../detail/cancel_state.hpp"
#include "block_cache.hpp"
#include "work_deque.hpp"
#include "injector.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "pool_state.hpp"

namespace zsync::rt::pool {

namespace {
thread_local Task* tls_task = nullptr;
thread_local Worker* tls_worker = nullptr;
thread_local ThreadCancelState tls_outside_cancel;

long futex(const void* word, int op, std::uint32_t val) noexcept {
    return ::syscall(SYS_futex, word, op, val, nullptr, nullptr, 0);
}

// Alignments are powers of two (the descriptor's come from alignof): round with a mask, not a division.
std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) & ~(a - 1); }
}  // namespace

Task*& current_task() noexcept { return tls_task; }
Worker*& current_worker() noexcept { return tls_worker; }
ThreadCancelState& current_cancel() noexcept { return tls_task ? tls_task->cancel : tls_outside_cancel; }

void futex_wait_while(const Atomic<std::uint32_t>* word, std::uint32_t value) noexcept {
    // acquire: whoever changed the word published what it guards before changing it.
    while (word->load(std::memory_order_acquire) == value) futex(word, FUTEX_WAIT_PRIVATE, value);
}

bool futex_wait_for(const Atomic<std::uint32_t>* word, std::uint32_t value, long ns) noexcept {
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), ns % 1'000'000'000};
    long r = ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, &ts, nullptr, 0);
    return !(r != 0 && errno == ETIMEDOUT);
}

Task* make_task(const TaskStart& ts, Group* g) noexcept {
    const TaskDescriptor& d = *ts.descriptor;
    std::size_t align = std::max<std::size_t>({alignof(Task), d.args_align, d.result_align});
    std::size_t args_off = round_up(sizeof(Task), d.args_align);
    std::size_t result_off = round_up(args_off + d.args_size, d.result_align);
    std::size_t total = round_up(result_off + d.result_size, align);
    // The plain operator new already aligns to __STDCPP_DEFAULT_NEW_ALIGNMENT__ and costs half the
    // aligned one (docs/benchmarks.md, ThreadPoolIo); such blocks come from this thread's cache.
    const bool plain = align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    if (plain) total = BlockCache::rounded(total);
    void* mem = plain ? BlockCache::allocate(total) : ::operator new(total, std::align_val_t(align), std::nothrow);
    if (!mem) return nullptr;
    Task* t = ::new (mem) Task;
    t->desc = &d;
    t->group = g;
    t->args = static_cast<std::byte*>(mem) + args_off;
    t->result = static_cast<std::byte*>(mem) + result_off;
    t->block_size = static_cast<std::uint32_t>(total);
    t->block_align = static_cast<std::uint32_t>(align);
    d.relocate_args(t->args, ts.args);
    return t;
}

void free_task(Task* t) noexcept {
    std::uint32_t align = t->block_align, size = t->block_size;
    t->~Task();
    if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) BlockCache::deallocate(static_cast<void*>(t), size);
    else ::operator delete(static_cast<void*>(t), static_cast<std::align_val_t>(align));
}

namespace {
// The task has produced its result (or its failure): hand it to its owner.
void complete(Task* t) noexcept {
    if (Group* g = t->group) {
        t->desc->discard_result(t->result);
        g->lock.lock();
        if (t->prev) t->prev->next = t->next;
        else g->head = t->next;
        if (t->next) t->next->prev = t->prev;
        g->lock.unlock();
        free_task(t);
        // acq_rel: the group's awaiter, on seeing 0, may free g; everything above happened before.
        if ((g->outstanding.fetch_sub(1, std::memory_order_acq_rel) & Group::count_mask) == 1)
            futex(&g->outstanding, FUTEX_WAKE_PRIVATE, INT_MAX);
        return;
    }
    // acq_rel: release publishes the result to the awaiter; acquire sees whether it is sleeping.
    std::uint32_t old = t->state.exchange(Task::done, std::memory_order_acq_rel);
    if (old & Task::waiter) futex(&t->state, FUTEX_WAKE_PRIVATE, INT_MAX);
}
}  // namespace

void fail_task(Task* t) noexcept {
    t->desc->discard_args(t->args);
    t->desc->fail(t->result, Error(Errc::shut_down, Op::async));
    complete(t);
}

void run_task(Task* t, Worker* w) noexcept {
    Task* prev = tls_task;
    if (w) {
        w->current_lock.lock();
        w->current = t;
        w->current_lock.unlock();
        if (w->pool->stopping()) {  // after publishing: see shutdown step 3
            w->current_lock.lock();
            w->current = prev;
            w->current_lock.unlock();
            // The sweep may have seen `t` (published above) instead of prev, which it then never
            // cancelled: prev is running, so it must learn about shutdown here (step 3).
            if (prev) Pool::cancel_task(prev);
            return fail_task(t);
        }
    }
    tls_task = t;
    t->desc->start(t->args, t->result);
    tls_task = prev;
    if (w) {
        w->current_lock.lock();
        w->current = prev;
        w->current_lock.unlock();
        // `t` ran nested inside prev's await; if shutdown swept meanwhile it saw `t`, not prev (step 3).
        if (prev && w->pool->stopping()) Pool::cancel_task(prev);
    }
    complete(t);
}

Pool::Pool(Config c) : max_concurrent_(c.max_concurrent) {
    install_interrupt_handler();
    unsigned n = std::max(1u, c.workers);
    workers_.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>();
        w->pool = this;
        w->index = i;
        w->sighted.assign(n, -1);
        workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) {
        Worker* wp = w.get();
        wp->thread = std::thread([this, wp] { worker_main(*wp); });
    }
}

namespace {
// Polls `done` with sleeps of 50 us doubling to 10 ms (shutdown is the only caller: a thread has no
// futex word for its end) and calls `nudge` on a group's back-off (NudgeBackoff).
template <class Done, class Nudge>
void wait_nudging(Done&& done, Nudge&& nudge) noexcept {
    NudgeBackoff backoff(NudgeBackoff::group_first);
    long slept = 0, next_nudge = backoff.next();
    for (long ns = 50'000; !done();) {
        timespec ts{0, ns};
        ::nanosleep(&ts, nullptr);
        slept += ns;
        if (slept >= next_nudge) {
            nudge();
            next_nudge = slept + backoff.next();
        }
        if (ns < 10'000'000) ns *= 2;
    }
}
}  // namespace

Pool::~Pool() {
    stopping_.store(true, std::memory_order_seq_cst);                                   // 1
    while (injecting_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();  // 2
    // Fail what already reached the injector: a worker may have looked, found nothing and exited
    // before a late push landed, and a task on another worker may be awaiting it (step 5 comes only
    // after the joins). Nothing is pushed after step 2.
    while (Task* t = injector_.pop()) fail_task(t);
    for (auto& w : workers_) {                                                          // 3
        w->current_lock.lock();
        if (w->current) cancel_task(w->current);
        w->current_lock.unlock();
    }
    std::vector<std::unique_ptr<Extra>> extras;
    {
        std::lock_guard lock(extra_mutex_);
        for (auto& e : extras_)
            if (e->task) cancel_task(e->task);
        extras.swap(extras_);  // nothing is added after this: spawn_concurrent sees stopping
    }
    epoch_.fetch_add(1, std::memory_order_release);                                     // 4
    futex(&epoch_, FUTEX_WAKE_PRIVATE, INT_MAX);
    // The sweep sent each request once (request_async): wait for the threads to end, re-sending the
    // interrupts that were lost (nudge) when a wait times out. A join alone could wait forever.
    // acquire: pairs with worker_main's release of `exited`.
    wait_nudging([&] { return std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->exited.load(std::memory_order_acquire); }); },
                 [&] {
                     for (auto& w : workers_) {
                         w->current_lock.lock();
                         if (w->current) nudge_task(w->current);
                         w->current_lock.unlock();
                     }
                 });
    for (auto& w : workers_) w->thread.join();
    while (Task* t = injector_.pop()) fail_task(t);                                     // 5
    // acquire: pairs with extra_main's release of `finished`.
    wait_nudging([&] { return std::all_of(extras.begin(), extras.end(), [](auto& e) { return e->finished.load(std::memory_order_acquire); }); },
                 [&] {
                     std::lock_guard lock(extra_mutex_);
                     for (auto& e : extras)
                         if (e->task) nudge_task(e->task);
                 });
    for (auto& e : extras) e->thread.join();                                            // 6
}

void Pool::notify() noexcept {
    fence_seq_cst();  // seq_cst: the parking and searching protocols (see the header)
    // relaxed: both ordered by the fence above against the workers' fences.
    if (searching_.load(std::memory_order_relaxed) != 0) return;  // a searcher will find the task
    if (parked_count(parked_.load(std::memory_order_relaxed)) == 0) return;
    // Count the worker to be woken as a searcher now; if another thread did so first, it wakes it.
    std::uint32_t zero = 0;
    // seq_cst: a producer that loses this race must see the winner's count (it returns above next time).
    if (!searching_.compare_exchange_strong(zero, 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return;
    // seq_cst: before the epoch bump, so that a worker that sees the new epoch sees the token.
    wake_tokens_.fetch_add(1, std::memory_order_seq_cst);
    epoch_.fetch_add(1, std::memory_order_release);  // release: nothing to publish beyond the queues' own
    futex(&epoch_, FUTEX_WAKE_PRIVATE, 1);
}

bool Pool::spawn(Task* t) noexcept {
    Worker* w = tls_worker;
    if (w && w->pool == this) {
        if (stopping()) return false;
        const bool lone = w->deque.owner().empty();  // before the push: see "Lone tasks" at the top
        if (!w->deque.owner().push(t)) {  // full: the saturation policy runs it now
            run_task(t, w);
            return true;
        }
        // With one worker nobody else can take it from this deque: no one to wake.
        if (workers_.size() > 1) {
            if (lone) {
                w->unannounced = true;
            } else {
                w->unannounced = false;
                notify();
            }
        }
        return true;
    }
    injecting_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: pairs with shutdown step 2
    if (stopping()) {
        injecting_.fetch_sub(1, std::memory_order_release);  // release: shutdown step 2 may proceed
        return false;
    }
    injector_.push(t);
    injecting_.fetch_sub(1, std::memory_order_release);  // release: the push happens before shutdown step 2 ends
    notify();
    return true;
}

void Pool::announce() noexcept {
    Worker* w = tls_worker;
    if (!w || w->pool != this || !w->unannounced) return;
    w->unannounced = false;
    if (!w->deque.owner().empty()) notify();
}

bool Pool::spawn_concurrent(Task* t) noexcept {
    std::vector<std::unique_ptr<Extra>> reaped;
    bool started = false;
    {
        std::lock_guard lock(extra_mutex_);
        // stopping is read under the lock that shutdown's sweep takes after setting it (step 3/6).
        if (!stopping() && extra_active_ < max_concurrent_) {
            // acquire: a finished thread's last writes to its Extra happened before; join waits the rest.
            auto done = [](const std::unique_ptr<Extra>& e) { return e->finished.load(std::memory_order_acquire); };
            for (auto& e : extras_)
                if (done(e)) reaped.push_back(std::move(e));
            std::erase_if(extras_, [](const std::unique_ptr<Extra>& e) { return !e; });
            Extra* e = new (std::nothrow) Extra;
            if (e) {
                e->task = t;
                extras_.emplace_back(e);
#if defined(__cpp_exceptions)
                try {
                    e->thread = std::thread([this, e] { extra_main(*e); });
                    started = true;
                } catch (const std::system_error&) {
                }
#else
                e->thread = std::thread([this, e] { extra_main(*e); });
                started = true;
#endif
                if (started) ++extra_active_;
                else extras_.pop_back();
            }
        }
    }
    for (auto& e : reaped) e->thread.join();  // outside the lock: the thread may still be taking it
    return started;
}

void Pool::extra_main(Extra& e) noexcept {
    Task* t = e.task;  // written before this thread started; only this thread changes it (under the lock)
    tls_worker = nullptr;
    const bool run = !stopping();  // registered in extras_ before this check: see shutdown step 3
    if (run) {
        tls_task = t;
        t->desc->start(t->args, t->result);
        tls_task = nullptr;
    }
    {
        // Before completing: the sweep must not touch `t` once its owner may free it, and the slot is
        // free before the owner can see the task done (so a new `concurrent` after await succeeds).
        std::lock_guard lock(extra_mutex_);
        e.task = nullptr;
        --extra_active_;
    }
    if (run) complete(t);
    else fail_task(t);
    e.finished.store(true, std::memory_order_release);  // release: pairs with the reaper's acquire
}

void Pool::dispatch(Worker* w, Task* t) noexcept {
    if (stopping()) fail_task(t);
    else run_task(t, w);
}

bool Pool::any_work() noexcept {
    if (injector_.maybe_nonempty()) return true;
    for (auto& w : workers_)
        if (w->deque.stealer().maybe_nonempty()) return true;
    return false;
}

Task* Pool::search_once(Worker& w) noexcept {
    if (Task* t = w.deque.owner().pop()) return t;
    if (Task* t = injector_.pop()) return t;
    std::size_t n = workers_.size();
    for (std::size_t i = 1; i < n; ++i) {
        std::size_t v = (w.index + i) % n;
        auto victim = workers_[v]->deque.stealer();
        if (!victim.maybe_nonempty()) {
            w.sighted[v] = -1;
            continue;
        }
        std::int64_t oldest = victim.oldest();
        if (w.sighted[v] != oldest) {  // a task not seen before: leave it to its owner for one round
            w.sighted[v] = oldest;
            continue;
        }
        if (Task* t = victim.steal()) return t;
    }
    return nullptr;
}

Task* Pool::find_work(Worker& w) noexcept {
    if (Task* t = w.deque.owner().pop()) return t;
    if (Task* t = injector_.pop()) return t;
    std::size_t n = workers_.size();
    for (std::size_t i = 1; i < n; ++i) {
        Worker& victim = *workers_[(w.index + i) % n];
        if (Task* t = victim.deque.stealer().steal()) return t;
    }
    return nullptr;
}

bool Pool::claim_wake_token() noexcept {
    // relaxed first: usually there is none; acq_rel: the claim pairs with notify()'s increment.
    std::uint32_t n = wake_tokens_.load(std::memory_order_relaxed);
    while (n != 0)
        if (wake_tokens_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel, std::memory_order_relaxed)) return true;
    return false;
}

void Pool::park(Worker& w) noexcept {
    std::uint32_t e = epoch_.load(std::memory_order_acquire);  // acquire: pairs with notify()'s release bump
    // Deep (no timeout) as the last worker to park, or when a timed sleeper already exists (one is
    // enough: N-1 timed sleepers would each wake every few ms while one worker blocks); decided in the
    // same atomic step as the count, so a worker that leaves park later sees it (became_active).
    // relaxed on failure: retried.
    const std::uint32_t n = worker_count();
    std::uint64_t v = parked_.load(std::memory_order_relaxed);
    bool deep;
    do {
        deep = parked_count(v) + 1 >= n || parked_count(v) > deep_count(v);
    } while (!parked_.compare_exchange_weak(v, v + one_parked + (deep ? one_deep : 0), std::memory_order_seq_cst, std::memory_order_relaxed));
    fence_seq_cst();  // seq_cst: the parking protocol (see the header)
    // relaxed: ordered by the fence (a token from a notify() that saw this sleeper is seen here or
    // that notify's epoch bump makes the wait return at once).
    if (!any_work() && !stopping() && wake_tokens_.load(std::memory_order_relaxed) == 0) {
        if (deep) {
            futex(&epoch_, FUTEX_WAIT_PRIVATE, e);
        } else {
            constexpr long first = 1'000'000, cap = 16'000'000;  // 1 ms doubling to 16 ms
            w.park_ns = w.park_ns ? w.park_ns : first;
            if (!futex_wait_for(&epoch_, e, w.park_ns)) w.park_ns = std::min(cap, w.park_ns * 2);  // timed out
        }
    }
    // relaxed: a stale count only costs one spurious wake (notify) or one extra wake (became_active).
    parked_.fetch_sub(one_parked + (deep ? one_deep : 0), std::memory_order_relaxed);
    w.woke = true;
    if (!w.searching && claim_wake_token()) w.searching = true;  // the count notify() made for us
}

// A worker that left park() found a task: it may now queue lone tasks (spawn) that nobody is woken
// for, so some parked worker must sleep with a timeout. If every parked worker sleeps deep, wake one:
// it finds nothing and parks again, timed, since this worker is not parked.
void Pool::became_active(Worker& w) noexcept {
    w.woke = false;
    w.park_ns = 0;
    // seq_cst: after this worker's own decrement in park() (same atomic: it sees every deep decision
    // ordered before that decrement; later ones saw this worker unparked and chose a timeout).
    std::uint64_t v = parked_.load(std::memory_order_seq_cst);
    if (deep_count(v) == 0 || deep_count(v) != parked_count(v)) return;
    epoch_.fetch_add(1, std::memory_order_release);  // release: nothing to publish beyond the queues' own
    futex(&epoch_, FUTEX_WAKE_PRIVATE, 1);
}

// Becomes a searcher unless half the workers (rounded up) already search.
bool Pool::try_start_searching(Worker& w) noexcept {
    if (w.searching) return true;
    std::uint32_t limit = (static_cast<std::uint32_t>(workers_.size()) + 1) / 2;
    // relaxed: the count only has to be exact at the fences of notify() and stop_searching().
    std::uint32_t n = searching_.load(std::memory_order_relaxed);
    do {
        if (n >= limit) return false;
    } while (!searching_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed, std::memory_order_relaxed));
    w.searching = true;
    return true;
}

void Pool::stop_searching(Worker& w, bool found_work) noexcept {
    if (!w.searching) return;
    w.searching = false;
    // seq_cst: ordered before the re-check of the queues (giving up) or notify()'s fence (found work).
    std::uint32_t before = searching_.fetch_sub(1, std::memory_order_seq_cst);
    if (found_work && before == 1) notify();  // the last searcher: producers relied on it
}

void Pool::worker_main(Worker& w) noexcept {
    tls_worker = &w;
    BlockCache::enable();
    // Rounds of looking for work before parking, cpu_relax() x 128 between them: about 40 us on the
    // machine of docs/benchmarks.md (a pause is 20 ns there). Shorter costs more wake-ups, longer a
    // spinning vCPU beside the busy one; both measured slower for spawn+await on 2 workers.
    constexpr int spin_rounds = 16;
    for (;;) {
        if (Task* t = find_work(w)) {
            stop_searching(w, true);
            if (w.woke) became_active(w);
            dispatch(&w, t);
            continue;
        }
        if (stopping()) break;
        Task* found = nullptr;
        if (try_start_searching(w)) {
            // While searching, a victim's task is stolen only if the same task was its oldest one
            // round earlier (Go's runnext rule, in spirit): a task a running worker has just spawned is
            // usually popped back by that worker's await within nanoseconds, and stealing it makes the
            // spawner wait for the thief. A task left queued (its worker is busy or blocked) is taken
            // one round later. (Keyed on the deque merely looking non-empty twice, as before, a worker
            // that spawns and awaits in a loop offers a different task each round.)
            std::fill(w.sighted.begin(), w.sighted.end(), -1);
            for (int round = 0; round < spin_rounds && !found && !stopping(); ++round) {
                for (int i = 0; i < 128; ++i) cpu_relax();
                found = search_once(w);
            }
        }
        if (found) {
            stop_searching(w, true);
            if (w.woke) became_active(w);
            dispatch(&w, found);
            continue;
        }
        const bool was_searching = w.searching;
        stop_searching(w, false);
        fence_seq_cst();  // seq_cst: the searching protocol (see the header)
        if (was_searching && any_work()) continue;
        park(w);
    }
    stop_searching(w, false);
    tls_worker = nullptr;
    w.exited.store(true, std::memory_order_release);  // release: shutdown's wait then joins
}

namespace {
// await_lock held. Passes a cancellation request of `t` on to what it waits for (once per wait).
void propagate_locked(Task* t) noexcept {
    if (t->propagated) return;
    if (t->awaiting_task) {
        t->propagated = true;
        Pool::cancel_task(t->awaiting_task);
    } else if (t->awaiting_group) {
        t->propagated = true;
        Pool::cancel_group(t->awaiting_group);
    }
}

// `me` starts waiting for `task` or `group`. A request made before this was not passed on: do it now.
// (A requester stores `requested` before taking await_lock, so either it sees the fields set here or
// this sees its request.)
void begin_await(Task* me, Task* task, Group* group) noexcept {
    me->await_lock.lock();
    me->awaiting_task = task;
    me->awaiting_group = group;
    me->propagated = false;
    // seq_cst: as request()'s store; the await_lock alone already orders the two sides.
    if (me->cancel.requested.load(std::memory_order_seq_cst)) propagate_locked(me);
    me->await_lock.unlock();
}

// The wait is over; true if a request was passed on during it.
bool end_await(Task* me) noexcept {
    me->await_lock.lock();
    me->awaiting_task = nullptr;
    me->awaiting_group = nullptr;
    bool p = me->propagated;
    me->propagated = false;
    me->await_lock.unlock();
    return p;
}
}  // namespace

// Sends the request without waiting for its acknowledgement (see the cancellation note at the top),
// then tells t's awaiters, by the canceling bit, to wait with timeouts and nudge.
void Pool::cancel_task(Task* t) noexcept {
    t->cancel.request_async();
    t->await_lock.lock();
    propagate_locked(t);
    t->await_lock.unlock();
    // seq_cst: after the request (an awaiter that sees the bit sees the request); acquire of the old
    // value tells whether anyone sleeps on the word. Changing the word makes a racing FUTEX_WAIT fail.
    std::uint32_t old = t->state.fetch_or(Task::canceling, std::memory_order_seq_cst);
    if ((old & Task::waiter) && !(old & Task::done) && !(old & Task::canceling)) futex(&t->state, FUTEX_WAKE_PRIVATE, INT_MAX);
}

void Pool::cancel_task_sync(Task* t) noexcept {
    cancel_task(t);
    for (long ns = 1000; nudge_task(t);) {
        timespec ts{0, ns};
        ::nanosleep(&ts, nullptr);
        if (ns < 10'000'000) ns *= 2;
    }
}

bool Pool::nudge_task(Task* t) noexcept {
    bool pending = t->cancel.nudge();
    t->await_lock.lock();  // the awaited task or group stays alive while this is held (end_await)
    if (t->awaiting_task) pending = nudge_task(t->awaiting_task) || pending;
    else if (t->awaiting_group) pending = nudge_group(t->awaiting_group) || pending;
    t->await_lock.unlock();
    return pending;
}

bool Pool::nudge_group(Group* g) noexcept {
    bool pending = false;
    std::lock_guard lock(g->lock);  // a listed task is alive (complete() unlinks under this lock)
    for (Task* t = g->head; t; t = t->next) pending = nudge_task(t) || pending;
    return pending;
}

// The awaiting task's cancellation reaches the awaited task through cancel_task (begin_await), not
// through a signal to the awaiting thread, so the wait itself is uninterruptible. The awaiting task's
// request stays pending and is delivered at its next cancel point. Code outside any task awaits as the
// foreground task (so ThreadPoolIo::request_cancel reaches what run() awaits). A protected awaiter
// does not pass cancellation on.
void Pool::wait_done(Task* t) noexcept {
    Task* me = current_or_foreground();
    const bool track = me && me->cancel.protection == Protection::unblocked;
    if (track) begin_await(me, t, nullptr);
    Worker* w = tls_worker;
    if (w && w->pool == this) {
        // acquire: pairs with complete()'s release (the result).
        while (!(t->state.load(std::memory_order_acquire) & Task::done)) {
            Task* x = w->deque.owner().pop();
            if (!x) break;
            dispatch(w, x);
        }
    }
    // A short spin before sleeping: the task was usually taken by a searching worker just now and a
    // small one is done in well under the cost of a futex wait and wake.
    for (int i = 0; i < 128 && !(t->state.load(std::memory_order_acquire) & Task::done); ++i) cpu_relax();  // acquire: as below
    NudgeBackoff backoff(NudgeBackoff::task_first);
    for (;;) {
        // acquire: pairs with complete()'s exchange, so the result is visible once done is seen.
        std::uint32_t s = t->state.load(std::memory_order_acquire);
        if (s & Task::done) break;
        if (!(s & Task::waiter)) {
            // relaxed on failure: we re-read in the loop.
            if (!t->state.compare_exchange_weak(s, s | Task::waiter, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
            s |= Task::waiter;
        }
        // A cancelled task: its interrupt may have been lost; re-send it when the wait times out.
        if (!(s & Task::canceling)) futex(&t->state, FUTEX_WAIT_PRIVATE, s);
        else if (!futex_wait_for(&t->state, s, backoff.next())) (void)nudge_task(t);
    }
    if (track) (void)end_await(me);
}

// As wait_done; a cancellable group await reports the request itself (it is a cancel point), so a
// request that was passed on to the group is consumed here.
bool Pool::wait_group(Group* g, bool cancelable) noexcept {
    Task* me = current_or_foreground();
    const bool track = cancelable && me && me->cancel.protection == Protection::unblocked;
    if (track) begin_await(me, nullptr, g);
    Worker* w = tls_worker;
    if (w && w->pool == this) {
        // acquire: pairs with the finishing tasks' acq_rel decrement.
        while (g->count(std::memory_order_acquire) != 0) {
            Task* x = w->deque.owner().pop();
            if (!x) break;
            dispatch(w, x);
        }
    }
    // acquire: the finished tasks' effects (and their unlinking) are visible once 0 is seen.
    NudgeBackoff backoff(NudgeBackoff::group_first);
    for (std::uint32_t n; ((n = g->outstanding.load(std::memory_order_acquire)) & Group::count_mask) != 0;) {
        if (!(n & Group::canceling)) futex(&g->outstanding, FUTEX_WAIT_PRIVATE, n);
        else if (!futex_wait_for(&g->outstanding, n, backoff.next())) (void)nudge_group(g);
    }
    if (!track || !end_await(me)) return true;
    (void)me->cancel.take();
    return false;
}

// O(N): one request (and at most one signal) per task, none waited for; the group's awaiter nudges.
void Pool::cancel_group(Group* g) noexcept {
    // seq_cst: as cancel_task's bit; set first so that a waiter from now on waits with timeouts.
    std::uint32_t old = g->outstanding.fetch_or(Group::canceling, std::memory_order_seq_cst);
    {
        std::lock_guard lock(g->lock);
        for (Task* t = g->head; t; t = t->next) cancel_task(t);
    }
    if (!(old & Group::canceling) && (old & Group::count_mask)) futex(&g->outstanding, FUTEX_WAKE_PRIVATE, INT_MAX);
}

}  // namespace zsync::rt::pool
