// Helpers every backend shares, over module types. Include in the purview of a `module zsync;` unit,
// after perform.hpp (and with <new> and <cstddef> in the global module fragment).
#pragma once

namespace zsync::rt {

// Runs a task on the calling thread and destroys its result: a Group task run inline. `run(args,
// result)` starts it (the descriptor's start, or a backend's wrapper around it). Small results stay on
// the stack. If no memory can be had for a large result, the task is dropped (its arguments destroyed).
template <class Run>
void run_discarding(const TaskDescriptor& d, void* args, Run&& run) noexcept {
    alignas(std::max_align_t) std::byte small[256];
    const bool heap = d.result_size > sizeof small || d.result_align > alignof(std::max_align_t);
    void* buf = heap ? ::operator new(d.result_size, std::align_val_t(d.result_align), std::nothrow) : small;
    if (!buf) {
        d.discard_args(args);
        return;
    }
    run(args, buf);
    d.discard_result(buf);
    if (heap) ::operator delete(buf, std::align_val_t(d.result_align));
}

// Io::batch performed in order on the calling thread: one cancel point for the batch (after a cancelled
// operation the rest report canceled, except close, which always runs). `cs` null: the Io is stale.
inline void perform_batch(Operation* ops, std::size_t count, ThreadCancelState* cs) noexcept {
    bool cancelled = false;
    for (std::size_t i = 0; i < count; ++i) {
        Operation& op = ops[i];
        if (!cs) op.result = Error(Errc::io_gone, op.code);
        else if (cancelled && op.code != Op::close) op.result = Error(Errc::canceled, op.code);
        else {
            perform(op, *cs);
            cancelled = cancelled || (!op.result && op.result.error().canceled());
        }
    }
}

}  // namespace zsync::rt
