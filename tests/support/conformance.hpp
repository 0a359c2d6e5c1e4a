// Shared helpers of the conformance suite: leak-measured runs, temp directories, an instrumented type,
// timing, and Error checks. Include this (it imports zsync and zsync.testing) before Catch assertions.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>
#include "leak_check.hpp"
import zsync;
import zsync.testing;
#include "backends.hpp"

namespace zsync::test {

// fds and live allocations before and after a piece of work.
struct Leak {
    Usage before, after;
    bool clean() const noexcept { return before == after; }
};

// Runs `work` between two usage snapshots. The first backend of a kind made in a process allocates a
// context node that is kept for reuse (stale Io detection), so as many backends as a case uses at once
// (up to four) are made and destroyed first.
// `work` must not run Catch assertions (Catch keeps the last assertion's text alive) and must not leave
// allocations behind on purpose: compute results into variables declared outside, assert afterwards.
template <class B, class F>
Leak measure(F&& work) {
    { B w1, w2, w3, w4; (void)w1.io(); (void)w2.io(); (void)w3.io(); (void)w4.io(); }
    Leak l;
    l.before = usage_now();
    std::forward<F>(work)();
    l.after = usage_now();
    return l;
}

// A fresh directory under /tmp for one case, removed (recursively) with the object.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/zsync-conformance-XXXXXX";
        if (!::mkdtemp(tmpl)) std::abort();
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return path_; }
    std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
    std::string path_;
};

// An instrumented value: counts constructions (all kinds) and destructions.
struct Counted {
    static inline std::atomic<int> constructed{0};
    static inline std::atomic<int> destroyed{0};
    static void reset() noexcept { constructed = 0; destroyed = 0; }
    static int live() noexcept { return constructed.load() - destroyed.load(); }

    int value = 0;
    explicit Counted(int v = 0) noexcept : value(v) { ++constructed; }
    Counted(const Counted& o) noexcept : value(o.value) { ++constructed; }
    Counted(Counted&& o) noexcept : value(o.value) { ++constructed; }
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) = default;
    ~Counted() { ++destroyed; }
};

using SteadyClock = std::chrono::steady_clock;
inline double ms_since(SteadyClock::time_point t0) {
    return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

// What a case remembers of an Error (no allocation, so it can be captured inside a measured window).
struct ErrInfo {
    bool failed = false;
    Errc code = Errc::ok;
    Op op = Op::none;
    int os = 0;
    Error error{};
};
template <class T>
ErrInfo info_of(const Result<T>& r) {
    ErrInfo i;
    if (!r) { i.failed = true; i.error = r.error(); i.code = i.error.code(); i.op = i.error.op(); i.os = i.error.os_error(); }
    return i;
}

// True when message() starts with "<op name>: ", as Error::message promises.
inline bool message_names_op(const Error& e, std::string_view op) {
    std::string m = e.message();
    return m.rfind(std::string(op) + ": ", 0) == 0;
}

inline std::span<const std::byte> bytes(std::string_view s) noexcept { return std::as_bytes(std::span(s.data(), s.size())); }
inline std::string_view text(std::span<const std::byte> b) noexcept { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace zsync::test

// Asserts that `info` (an ErrInfo) is an OS error `errc` reported by operation `op_`, and that the
// message names the operation.
#define REQUIRE_OS_ERROR(info, errc, op_)                                          \
    do {                                                                           \
        const auto& zi_ = (info);                                                  \
        REQUIRE(zi_.failed);                                                       \
        CHECK(zi_.code == ::zsync::Errc::system);                                  \
        CHECK(zi_.error.is(errc));                                                 \
        CHECK(zi_.op == (op_));                                                    \
        CHECK(::zsync::test::message_names_op(zi_.error, ::zsync::op_name(op_)));  \
    } while (0)

#define REQUIRE_ZSYNC_ERROR(info, errc_, op_)                                      \
    do {                                                                           \
        const auto& zi_ = (info);                                                  \
        REQUIRE(zi_.failed);                                                       \
        CHECK(zi_.code == (errc_));                                                \
        CHECK(zi_.op == (op_));                                                    \
        CHECK(::zsync::test::message_names_op(zi_.error, ::zsync::op_name(op_)));  \
    } while (0)

#define REQUIRE_NO_LEAK(leak)                                 \
    do {                                                      \
        const auto& zl_ = (leak);                             \
        CHECK(zl_.before.fds == zl_.after.fds);               \
        CHECK(zl_.before.allocations == zl_.after.allocations); \
        REQUIRE(zl_.clean());                                 \
    } while (0)
