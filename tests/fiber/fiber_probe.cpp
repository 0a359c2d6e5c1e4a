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
}  // namespace

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
    std::fprintf(stderr, "fiber_probe: no report (mode %s)\n", argv[1]);
    return 0;
}
