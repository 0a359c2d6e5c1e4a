// Child process for the fiber tests that must end the process: fiber_probe overflow | entry-returns |
// resume-finished. Each one should abort with a report on stderr; exiting 0 means the report was missing.
#include <cstdio>
#include <cstring>

#include "fiber/fiber.hpp"

namespace zf = zsync::rt::fiber;

namespace {
int recurse(int n) {
    volatile char buf[1024];
    buf[0] = static_cast<char>(n);
    buf[1023] = static_cast<char>(n);
    return n > 1000000000 ? 0 : recurse(n + 1) + buf[0] + buf[1023];
}
void returns(zsync::rt::ctx::Transfer) {}

// mode "parked": two fibers suspended in functions of their own, for the gdb script's test.
__attribute__((noinline)) void parked_in_alpha(zf::Fiber& self) { self.suspend(); }
__attribute__((noinline)) void parked_in_beta(zf::Fiber& self) { self.suspend(); }
}  // namespace

extern "C" {
void* zsync_probe_parked[2] = {};
__attribute__((noinline)) void zsync_probe_break() { asm volatile("" ::: "memory"); }
}

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    if (std::strcmp(argv[1], "overflow") == 0) {
        auto pool = zf::StackPool::make(zf::StackConfig{.stack_bytes = 64 * 1024});
        auto f = zf::Fiber::create(**pool, [](zf::Fiber&, void*) { std::printf("%d\n", recurse(0)); }, nullptr,
                                   "deep-recursion");
        (*f)->resume();
    } else if (std::strcmp(argv[1], "entry-returns") == 0) {
        static char stack[64 * 1024];
        void* c = zsync::rt::ctx::make<&returns>(stack + sizeof stack, sizeof stack);
        zsync::rt::ctx::jump(c, nullptr);
    } else if (std::strcmp(argv[1], "resume-finished") == 0) {
        auto f = zf::Fiber::create(zf::StackPool::this_thread(), [](zf::Fiber&, void*) {}, nullptr, "done");
        (*f)->resume();
        (*f)->resume();
    }
    if (std::strcmp(argv[1], "parked") == 0) {
        auto a = zf::Fiber::create(zf::StackPool::this_thread(), [](zf::Fiber& f, void*) { parked_in_alpha(f); },
                                   nullptr, "alpha");
        auto b = zf::Fiber::create(zf::StackPool::this_thread(), [](zf::Fiber& f, void*) { parked_in_beta(f); },
                                   nullptr, "beta");
        (*a)->resume();
        (*b)->resume();
        zsync_probe_parked[0] = (*a)->saved_context();
        zsync_probe_parked[1] = (*b)->saved_context();
        zsync_probe_break();
        return 0;
    }
    std::fprintf(stderr, "fiber_probe: no report (mode %s)\n", argv[1]);
    return 0;
}
