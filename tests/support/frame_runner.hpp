// FrameRunner: an Io over another Io that starts every task the way a backend that runs frames does.
//
// io.async / io.concurrent / group.async on runner.io() reach its async slot with a TaskStart; the slot
// looks the function up with find_frame(const TaskStart&) and, when a frame is registered and matches
// the argument block, drives it with drive_frame, performing its Operations on the inner Io (the frame
// never performs anything itself: the Io in its arguments is this runner's). A function without a frame
// runs its stackful start; a frame that does not match the task's arguments is refused: the task's
// result is that Error (frame_mismatch) and the runner keeps the lookup's message. Everything else is
// forwarded to the inner Io. One task at a time (tests on BlockingIo); not thread-safe.
// Include after `import zsync;`.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <string>

namespace zsync::test {

class FrameRunner {
public:
    explicit FrameRunner(zsync::Io inner) noexcept : inner_(inner) {}
    FrameRunner(const FrameRunner&) = delete;
    FrameRunner& operator=(const FrameRunner&) = delete;

    zsync::Io io() noexcept { return zsync::Io{this, &table}; }
    zsync::Io inner() const noexcept { return inner_; }

    int frames_driven = 0;    // tasks that ran as their frame
    int stackful_runs = 0;    // tasks with no frame: their stackful start ran
    int refused = 0;          // tasks whose frame did not match (frame_mismatch)
    std::string last_refusal; // FrameLookup::message of the last refusal
    std::size_t largest_frame = 0;

    static const zsync::IoVTable table;

private:
    static FrameRunner& self(void* c) noexcept { return *static_cast<FrameRunner*>(c); }

    // Runs the task to completion on the calling thread, as its frame when it has one.
    void run(const zsync::TaskStart& t, void* result) noexcept {
        zsync::FrameLookup found = zsync::find_frame(t);
        if (found.error.code() == zsync::Errc::frame_mismatch) {
            ++refused;
            last_refusal = found.message(t);
            t.descriptor->discard_args(t.args);
            t.descriptor->fail(result, found.error);
            return;
        }
        if (!found.frame) {
            ++stackful_runs;
            t.descriptor->start(t.args, result);
            return;
        }
        const zsync::FrameDescriptor& d = *found.frame;
        ++frames_driven;
        if (d.size > largest_frame) largest_frame = d.size;
        // Frame memory comes from the executor: here the heap, aligned as the descriptor asks.
        void* memory = ::operator new(d.size, std::align_val_t(d.align));
        zsync::drive_frame(inner_, d, memory, t.args, result);
        ::operator delete(memory, std::align_val_t(d.align));
    }

    static zsync::AnyFuture* async(void* c, const zsync::TaskStart& t, void* result) noexcept {
        self(c).run(t, result);
        return nullptr;  // ran to completion: the Future is ready
    }
    static zsync::Result<zsync::AnyFuture*> concurrent(void*, const zsync::TaskStart&) noexcept {
        return zsync::Error(zsync::Errc::concurrency_unavailable, zsync::Op::concurrent);
    }
    static void await(void*, zsync::AnyFuture*, const zsync::TaskDescriptor& d, void* r) noexcept {
        d.fail(r, zsync::Error(zsync::Errc::invalid_argument, zsync::Op::await));
    }
    static void cancel(void*, zsync::AnyFuture*, const zsync::TaskDescriptor& d, void* r) noexcept {
        d.fail(r, zsync::Error(zsync::Errc::invalid_argument, zsync::Op::cancel));
    }
    static void group_async(void* c, zsync::GroupState&, const zsync::TaskStart& t) noexcept {
        // The task ran to completion: its result is destroyed at once, as a Group's always is.
        alignas(std::max_align_t) std::byte small[256];
        void* r = t.descriptor->result_size <= sizeof small && t.descriptor->result_align <= alignof(std::max_align_t)
                      ? static_cast<void*>(small)
                      : ::operator new(t.descriptor->result_size, std::align_val_t(t.descriptor->result_align));
        self(c).run(t, r);
        t.descriptor->discard_result(r);
        if (r != small) ::operator delete(r, std::align_val_t(t.descriptor->result_align));
    }
    static zsync::Result<void> group_concurrent(void*, zsync::GroupState&, const zsync::TaskStart&) noexcept {
        return zsync::Error(zsync::Errc::concurrency_unavailable, zsync::Op::group_concurrent);
    }
    static zsync::Result<void> group_await(void* c, zsync::GroupState&) noexcept { return self(c).inner_.check_cancel(); }
    static void group_cancel(void*, zsync::GroupState& g) noexcept { g.head = nullptr; }
    static zsync::CancelProtection swap(void* c, zsync::CancelProtection p) noexcept { return self(c).inner_.swap_cancel_protection(p); }
    static void recancel(void* c) noexcept { self(c).inner_.recancel(); }
    static zsync::Result<void> check_cancel(void* c) noexcept { return self(c).inner_.check_cancel(); }
    static void futex_wake(void* c, const std::atomic<std::uint32_t>* w, std::uint32_t n) noexcept {
        self(c).inner_.vtable->futex_wake(self(c).inner_.ctx, w, n);
    }
    static void operate(void* c, zsync::Operation& op) noexcept {
        // Its Futures are always ready and its Groups empty, so a task wait is only ever a forged one.
        if (zsync::is_task_wait(op.code)) return zsync::perform_task_wait(c, table, op);
        self(c).inner_.vtable->operate(self(c).inner_.ctx, op);
    }
    static void batch(void* c, zsync::Operation* ops, std::size_t n) noexcept { self(c).inner_.vtable->batch(self(c).inner_.ctx, ops, n); }

    zsync::Io inner_;
};

inline const zsync::IoVTable FrameRunner::table{
    &FrameRunner::async, &FrameRunner::concurrent, &FrameRunner::await, &FrameRunner::cancel,
    &FrameRunner::group_async, &FrameRunner::group_concurrent, &FrameRunner::group_await, &FrameRunner::group_cancel,
    &FrameRunner::swap, &FrameRunner::recancel, &FrameRunner::check_cancel,
    &FrameRunner::futex_wake, &FrameRunner::operate, &FrameRunner::batch,
};

}  // namespace zsync::test
