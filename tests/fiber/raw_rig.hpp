// A two-party rig for testing the raw switch (fiber/context.hpp) apart from Fiber and any scheduler: the
// test's thread ("main") and one context on a stack of its own ("side"). Every jump goes through
// rig_jump(), which does the sanitizer and exception-state hand-over (fiber/sanitizer.hpp) around
// ctx::jump, so the same tests run in the asan and tsan presets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fiber/context.hpp"
#include "fiber/sanitizer.hpp"

namespace zsync::test {

namespace zf = zsync::rt::fiber;
namespace zc = zsync::rt::ctx;

struct RawStack {
    static constexpr std::size_t bytes = 256 * 1024;
    std::unique_ptr<std::byte[]> mem{new std::byte[bytes]};
    std::byte* top() const { return mem.get() + bytes; }
};

struct Rig {
    RawStack stack;
    zf::SwitchState main_state{};
    zf::SwitchState side_state{};
    void* side = nullptr;  // the side's context while it is suspended
    void* main = nullptr;  // main's context while the side runs

    template <void (*Entry)(zc::Transfer)>
    void make() {
        zf::make_thread_state(main_state);
        zf::make_fiber_state(side_state, stack.mem.get(), RawStack::bytes);
        side = zc::make<Entry>(stack.top(), RawStack::bytes);
    }
    ~Rig() { zf::destroy_fiber_state(side_state); }

    // From main into the side; returns what the side passes back.
    void* to_side(void* data) {
        zf::leave(main_state, side_state, false);
        zc::Transfer t = zc::jump(side, data);
        side = t.from;
        zf::arrive(main_state, &side_state);
        return t.data;
    }
    // From the side back to main (side_finished: it is never resumed).
    void* to_main(void* data, bool side_finished = false) {
        zf::leave(side_state, main_state, side_finished);
        zc::Transfer t = zc::jump(main, data);
        main = t.from;
        zf::arrive(side_state, &main_state);
        return t.data;
    }
    // First thing in an entry: record who jumped here.
    void* entered(zc::Transfer t) {
        main = t.from;
        zf::arrive(side_state, &main_state);
        return t.data;
    }
};

}  // namespace zsync::test
