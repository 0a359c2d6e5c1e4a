// The offload pool: a few threads that perform, with BlockingIo's code (perform.hpp), the Operations a
// reactor cannot make non-blocking (regular-file I/O on epoll, open/stat/fsync, directory listing, name
// lookup, sendfile/copy_file_range). Completions go back to the driver through Core::post_done (an
// eventfd wake). Include after core.hpp; the global module fragment also needs <condition_variable>
// <deque> <thread>.
//
// Protocol (all under mu_):
//   push: the job joins the queue; one idle worker is signalled.
//   a worker takes the front job, records it as its `current`, resets its cancel state, unlocks,
//   performs it (interruptible: SIGURG, cancel_state.hpp), then posts the result and clears `current`.
//   cancel(idx, gen): a queued job is removed and posted as canceled at once; a running one has its
//   worker's cancel state requested (the syscall returns EINTR and perform() reports canceled). Because
//   the request is made under mu_ and only while `current` is that job, it never reaches the next job
//   (a worker resets its state under mu_ when it takes one). Either way exactly one post happens.
//   ~OffloadPool: stop is set, every running job is requested, the threads are joined; queued jobs are
//   posted as canceled (the driver drains them before destroying the pool).
#pragma once

namespace zsync::rt::reactor {

class OffloadPool {
public:
    OffloadPool(Core& core, unsigned threads);
    ~OffloadPool();
    void push(std::uint32_t idx, std::uint32_t gen, Operation* op) noexcept;
    void cancel(std::uint32_t idx, std::uint32_t gen) noexcept;

private:
    struct Job { std::uint32_t idx, gen; Operation* op; };
    struct Worker {
        ThreadCancelState cs;
        Job current{npos, 0, nullptr};
        std::thread thread;
    };
    void run(Worker& w) noexcept;

    Core& core_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    std::vector<std::unique_ptr<Worker>> workers_;
    bool stop_ = false;
};

}  // namespace zsync::rt::reactor
