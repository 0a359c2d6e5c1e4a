// zsync:time — deadlines on the monotonic clock.
//
// Every timed wait takes an absolute Deadline rather than a duration, so a wait that is interrupted and
// retried (EINTR, a spurious futex wake, a frame resumed later) never extends its own timeout.
module;
#include <chrono>
#include <cstdint>
#include <limits>
export module zsync:time;

export namespace zsync {

using Duration = std::chrono::nanoseconds;
// The monotonic clock every Deadline is measured on (CLOCK_MONOTONIC on Linux).
using Clock = std::chrono::steady_clock;

// A point on Clock, in nanoseconds, or never. Trivially copyable; 8 bytes.
struct Deadline {
    std::int64_t ns = std::numeric_limits<std::int64_t>::max();

    static constexpr Deadline never() noexcept { return {}; }
    static inline Deadline at(Clock::time_point t) noexcept {
        return {std::chrono::duration_cast<Duration>(t.time_since_epoch()).count()};
    }
    // Now plus `d` (saturating; a negative duration is a deadline in the past).
    static inline Deadline after(Duration d) noexcept {
        std::int64_t now = std::chrono::duration_cast<Duration>(Clock::now().time_since_epoch()).count();
        std::int64_t out;
        if (__builtin_add_overflow(now, d.count(), &out)) return d.count() > 0 ? never() : Deadline{0};
        return {out};
    }
    constexpr bool is_never() const noexcept { return ns == std::numeric_limits<std::int64_t>::max(); }
    inline bool passed() const noexcept { return !is_never() && Clock::now().time_since_epoch() >= Duration(ns); }
    friend constexpr auto operator<=>(Deadline, Deadline) noexcept = default;
};

}  // namespace zsync
