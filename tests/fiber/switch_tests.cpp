// The raw context switch (platform-asm/ or Boost.Context, whichever ZSYNC_CONTEXT picked) apart from Fiber
// and any scheduler: order, stack alignment at entry, callee-saved registers, pointers both ways,
// exceptions inside a context, unwinding a suspended context through the on-top call.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "raw_rig.hpp"

using namespace zsync::test;

namespace {

Rig* g_rig = nullptr;  // the rig of the running test (entries are template arguments: no captures)

// --- order across many switches -------------------------------------------------------------------
std::vector<int>* g_log = nullptr;
constexpr int kRounds = 20000;

void order_entry(zc::Transfer t) {
    g_rig->entered(t);
    for (int i = 0; i < kRounds; ++i) {
        g_log->push_back(2 * i + 1);
        g_rig->to_main(nullptr);
    }
    g_rig->to_main(nullptr, true);
}

}  // namespace

TEST_CASE("raw switch: order of execution across many switches", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    std::vector<int> log;
    log.reserve(2 * kRounds);
    g_log = &log;
    rig.make<&order_entry>();
    REQUIRE(rig.side != nullptr);
    for (int i = 0; i < kRounds; ++i) {
        log.push_back(2 * i);
        rig.to_side(nullptr);
    }
    rig.to_side(nullptr);  // lets it finish
    REQUIRE(log.size() == 2 * kRounds);
    for (int i = 0; i < 2 * kRounds; ++i) REQUIRE(log[i] == i);
}

// --- 16-byte alignment at entry -------------------------------------------------------------------
extern "C" {
std::uintptr_t zsync_test_entry_sp = 0;
void zsync_test_sp_probe(zc::Transfer);
void zsync_test_sp_probe_continue(zc::Transfer t) {
    g_rig->entered(t);
    g_rig->to_main(nullptr, true);
}
}

TEST_CASE("raw switch: a new context's entry sees the ABI's stack alignment", "[fiber][switch]") {
    // Top addresses at every offset mod 16: make() must align them itself.
    for (std::size_t misalign = 0; misalign < 16; misalign += 1) {
        Rig rig;
        g_rig = &rig;
        zf::make_thread_state(rig.main_state);
        zf::make_fiber_state(rig.side_state, rig.stack.mem.get(), RawStack::bytes);
        rig.side = zc::make<&zsync_test_sp_probe>(rig.stack.top() - misalign, RawStack::bytes - misalign);
        REQUIRE(rig.side != nullptr);
        zsync_test_entry_sp = 1;
        rig.to_side(nullptr);
        INFO("top misaligned by " << misalign << ", sp at entry " << std::hex << zsync_test_entry_sp);
#if defined(__x86_64__)
        REQUIRE((zsync_test_entry_sp + 8) % 16 == 0);  // as after a `call` from a 16-aligned rsp
#else
        REQUIRE(zsync_test_entry_sp % 16 == 0);
#endif
        REQUIRE(zsync_test_entry_sp < reinterpret_cast<std::uintptr_t>(rig.stack.top() - misalign));
        REQUIRE(zsync_test_entry_sp > reinterpret_cast<std::uintptr_t>(rig.stack.mem.get()));
    }
}

// --- callee-saved registers -----------------------------------------------------------------------
namespace {
#if defined(__x86_64__)
struct Regs {
    std::uint64_t gp[6];  // rbx rbp r12 r13 r14 r15
    std::uint32_t mxcsr;
    std::uint32_t x87_cw;
};
const char* const kRegNames[] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
Regs pattern(std::uint64_t seed, int round) {
    Regs r{};
    for (int i = 0; i < 6; ++i) r.gp[i] = seed * 0x0101010101010101ull + 0x1000ull * i + round;
    // Exceptions masked (0x1f80) with a rounding mode per side: down for one, up for the other, and
    // flush-to-zero (bit 15) on odd rounds. x87: 0x037f masked, rounding control in bits 10-11.
    const std::uint32_t rc = (seed & 1) ? 0x2000 : 0x4000;
    r.mxcsr = 0x1f80 | rc | ((round & 1) ? 0x8000 : 0);
    r.x87_cw = 0x037f | ((seed & 1) ? 0x0400 : 0x0800);
    return r;
}
void compare(const Regs& want, const Regs& got) {
    for (int i = 0; i < 6; ++i) {
        INFO(kRegNames[i]);
        CHECK(got.gp[i] == want.gp[i]);
    }
    CHECK(got.mxcsr == want.mxcsr);
    CHECK(got.x87_cw == want.x87_cw);
}
#else
struct Regs {
    std::uint64_t x[11];  // x19..x29
    std::uint64_t d[8];   // d8..d15
};
Regs pattern(std::uint64_t seed, int round) {
    Regs r{};
    for (int i = 0; i < 11; ++i) r.x[i] = seed * 0x0101010101010101ull + 0x1000ull * i + round;
    for (int i = 0; i < 8; ++i) r.d[i] = ~(seed * 0x0001000100010001ull) ^ (0x10000ull * i + round);
    return r;
}
void compare(const Regs& want, const Regs& got) {
    for (int i = 0; i < 11; ++i) {
        INFO("x" << 19 + i);
        CHECK(got.x[i] == want.x[i]);
    }
    for (int i = 0; i < 8; ++i) {
        INFO("d" << 8 + i);
        CHECK(got.d[i] == want.d[i]);
    }
}
#endif
}  // namespace

extern "C" void zsync_test_regs_call(void (*fn)(void*), void* arg, const Regs* in, Regs* out);
extern "C" void zsync_test_clobber(void*);

namespace {
constexpr int kRegRounds = 50;
Regs g_side_got[kRegRounds];

void jump_to_main(void*) { g_rig->to_main(nullptr); }
void jump_to_side(void*) { g_rig->to_side(nullptr); }

void regs_entry(zc::Transfer t) {
    g_rig->entered(t);
    for (int round = 0; round < kRegRounds; ++round) {
        Regs in = pattern(0x22, round);
        zsync_test_regs_call(&jump_to_main, nullptr, &in, &g_side_got[round]);
    }
    g_rig->to_main(nullptr, true);
}
}  // namespace

TEST_CASE("raw switch: every callee-saved register survives a round trip, on both sides", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    rig.make<&regs_entry>();
    rig.to_side(nullptr);  // the side now waits inside its first zsync_test_regs_call
    for (int round = 0; round < kRegRounds; ++round) {
        Regs in = pattern(0x11, round);
        Regs got{};
        // main's registers hold main's pattern across a jump into a side holding the other pattern
        zsync_test_regs_call(&jump_to_side, nullptr, &in, &got);
        INFO("main, round " << round);
        compare(in, got);
    }
    // main's last jump returned the side's last call: the side has finished
    for (int round = 0; round < kRegRounds; ++round) {
        INFO("side, round " << round);
        compare(pattern(0x22, round), g_side_got[round]);
    }
}

TEST_CASE("raw switch: the register check detects a clobbered register (negative control)", "[fiber][switch]") {
    Regs in = pattern(0x33, 1);
    Regs got{};
    zsync_test_regs_call(&zsync_test_clobber, nullptr, &in, &got);
#if defined(__x86_64__)
    REQUIRE(got.gp[2] != in.gp[2]);  // r12
    REQUIRE(got.gp[0] != in.gp[0]);  // rbx
    REQUIRE(got.mxcsr != in.mxcsr);
#else
    REQUIRE(got.x[0] != in.x[0]);  // x19
    REQUIRE(got.d[0] != in.d[0]);  // d8
    REQUIRE(got.d[7] != in.d[7]);  // d15
#endif
}

// --- pointers both ways ---------------------------------------------------------------------------
namespace {
struct Box {
    int value;
};
Box g_first{1}, g_from_side[3] = {{10}, {20}, {30}};
Box* g_side_saw[4] = {};

void ptr_entry(zc::Transfer t) {
    g_side_saw[0] = static_cast<Box*>(g_rig->entered(t));
    for (int i = 0; i < 3; ++i) g_side_saw[i + 1] = static_cast<Box*>(g_rig->to_main(&g_from_side[i]));
    g_rig->to_main(nullptr, true);
}
}  // namespace

TEST_CASE("raw switch: a pointer is passed both ways, the entry's first one included", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    rig.make<&ptr_entry>();
    Box to_side[3] = {{100}, {200}, {300}};
    REQUIRE(rig.to_side(&g_first) == &g_from_side[0]);
    REQUIRE(rig.to_side(&to_side[0]) == &g_from_side[1]);
    REQUIRE(rig.to_side(&to_side[1]) == &g_from_side[2]);
    REQUIRE(rig.to_side(&to_side[2]) == nullptr);  // its last jump
    REQUIRE(g_side_saw[0] == &g_first);
    for (int i = 0; i < 3; ++i) REQUIRE(g_side_saw[i + 1] == &to_side[i]);
    REQUIRE(g_side_saw[3]->value == 300);
}

// --- exceptions inside a context ------------------------------------------------------------------
namespace {
std::vector<std::string>* g_caught = nullptr;

void exc_entry(zc::Transfer t) {
    g_rig->entered(t);
    for (int i = 0; i < 100; ++i) {
        try {
            try {
                throw std::runtime_error("inner " + std::to_string(i));
            } catch (const std::runtime_error& e) {
                g_rig->to_main(nullptr);  // suspended inside a handler
                g_caught->push_back(e.what());
                throw std::logic_error("outer " + std::to_string(i));
            }
        } catch (const std::logic_error& e) {
            g_caught->push_back(e.what());
        }
    }
    g_rig->to_main(nullptr, true);
}
}  // namespace

TEST_CASE("raw switch: an exception is thrown and caught inside a context", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    std::vector<std::string> caught;
    g_caught = &caught;
    rig.make<&exc_entry>();
    for (int i = 0; i < 101; ++i) {
        rig.to_side(nullptr);
        // main throws too while the side is suspended inside its handler
        try {
            throw std::out_of_range("main");
        } catch (const std::out_of_range&) {
        }
    }
    REQUIRE(caught.size() == 200);
    for (int i = 0; i < 100; ++i) {
        REQUIRE(caught[2 * i] == "inner " + std::to_string(i));
        REQUIRE(caught[2 * i + 1] == "outer " + std::to_string(i));
    }
}

// --- the on-top call ------------------------------------------------------------------------------
namespace {
struct ForcedUnwind {
    void* back;  // who asked: the side jumps there when its stack is unwound
};
std::vector<std::string>* g_events = nullptr;

struct Noisy {
    const char* name;
    ~Noisy() { g_events->push_back(std::string("~") + name); }
};

void deep(int n) {
    Noisy n1{n == 0 ? "deep0" : "deep1"};
    if (n == 0) {
        g_rig->to_main(nullptr);  // suspended here, two frames down
        g_events->push_back("resumed normally (wrong)");
        return;
    }
    deep(n - 1);
}

void unwind_entry(zc::Transfer t) {
    g_rig->entered(t);
    void* back = nullptr;
    try {
        Noisy outer{"outer"};
        deep(1);
    } catch (const ForcedUnwind& u) {
        g_events->push_back("caught");
        back = u.back;
    }
    // Leave for good, to whoever unwound us.
    g_rig->main = back;
    g_rig->to_main(nullptr, true);
}

zc::Transfer throw_on_top(zc::Transfer t) {
    g_rig->main = t.from;
    zf::arrive(g_rig->side_state, &g_rig->main_state);
    g_events->push_back("on top");
    throw ForcedUnwind{t.from};
}

zc::Transfer add_on_top(zc::Transfer t) {
    // Returns into the side's pending to_main(), which finishes the hand-over (zf::arrive) itself.
    g_rig->main = t.from;
    auto* n = static_cast<int*>(t.data);
    *n += 1000;
    return zc::Transfer{t.from, n};  // what the side's pending jump returns
}

int* g_ontop_got = nullptr;
void ontop_value_entry(zc::Transfer t) {
    g_rig->entered(t);
    g_ontop_got = static_cast<int*>(g_rig->to_main(nullptr));
    g_rig->to_main(nullptr, true);
}
}  // namespace

TEST_CASE("raw switch: a suspended context is unwound through the on-top call and its destructors run", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    std::vector<std::string> events;
    g_events = &events;
    rig.make<&unwind_entry>();
    rig.to_side(nullptr);
    REQUIRE(events.empty());
    zf::leave(rig.main_state, rig.side_state, false);
    zc::Transfer t = zc::ontop<&throw_on_top>(rig.side, nullptr);
    zf::arrive(rig.main_state, &rig.side_state);
    REQUIRE(t.data == nullptr);
    REQUIRE(events == std::vector<std::string>{"on top", "~deep0", "~deep1", "~outer", "caught"});
}

TEST_CASE("raw switch: the on-top function's result is what the suspended jump returns", "[fiber][switch]") {
    Rig rig;
    g_rig = &rig;
    rig.make<&ontop_value_entry>();
    rig.to_side(nullptr);
    int n = 7;
    zf::leave(rig.main_state, rig.side_state, false);
    zc::Transfer t = zc::ontop<&add_on_top>(rig.side, &n);
    rig.side = t.from;
    zf::arrive(rig.main_state, &rig.side_state);
    REQUIRE(g_ontop_got == &n);
    REQUIRE(n == 1007);
}

// --- bad input ------------------------------------------------------------------------------------
namespace {
void never_entry(zc::Transfer) {}
}  // namespace

TEST_CASE("raw switch: make() refuses a null stack and a stack smaller than its frame", "[fiber][switch]") {
    RawStack s;
    REQUIRE(zc::make<&never_entry>(nullptr, RawStack::bytes) == nullptr);
    REQUIRE(zc::make<&never_entry>(s.top(), 0) == nullptr);
    REQUIRE(zc::make<&never_entry>(s.top(), zc::min_stack_bytes - 1) == nullptr);
    REQUIRE(zc::make<&never_entry>(s.top(), zc::min_stack_bytes) != nullptr);
}
