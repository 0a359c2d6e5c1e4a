// The offload pool (protocol in offload_pool.hpp).
module;
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include "../../detail/cancel_state.hpp"
module zsync;
#include "../../detail/perform.hpp"
#include "../core.hpp"
#include "offload_pool.hpp"

namespace zsync::rt::reactor {

OffloadPool::OffloadPool(Core& core, unsigned threads) : core_(core) {
    install_interrupt_handler();
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
    for (auto& w : workers_) w->thread = std::thread([this, p = w.get()] { run(*p); });
}

OffloadPool::~OffloadPool() {
    std::deque<Job> left;
    {
        std::lock_guard lock(mu_);
        stop_ = true;
        for (auto& w : workers_)
            if (w->current.op) w->cs.request();
        left.swap(queue_);
    }
    cv_.notify_all();
    for (auto& w : workers_) w->thread.join();
    for (auto& j : left) core_.post_done(j.idx, j.gen, Error(Errc::canceled, j.op->code));
}

void OffloadPool::push(std::uint32_t idx, std::uint32_t gen, Operation* op) noexcept {
    {
        std::lock_guard lock(mu_);
        queue_.push_back({idx, gen, op});
    }
    cv_.notify_one();
}

void OffloadPool::cancel(std::uint32_t idx, std::uint32_t gen) noexcept {
    std::unique_lock lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->idx == idx && it->gen == gen) {
            Op code = it->op->code;
            queue_.erase(it);
            lock.unlock();
            core_.post_done(idx, gen, Error(Errc::canceled, code));
            return;
        }
    }
    for (auto& w : workers_)
        if (w->current.op && w->current.idx == idx && w->current.gen == gen) {
            w->cs.request();  // returns once the worker left its syscall (or was in none)
            return;
        }
}

void OffloadPool::run(Worker& w) noexcept {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        Job j = queue_.front();
        queue_.pop_front();
        w.current = j;
        w.cs.reset();
        lock.unlock();
        perform(*j.op, w.cs);
        Result<std::uint64_t> r = j.op->result;
        lock.lock();
        w.current = {npos, 0, nullptr};
        lock.unlock();
        core_.post_done(j.idx, j.gen, r);
        lock.lock();
    }
}

}  // namespace zsync::rt::reactor
