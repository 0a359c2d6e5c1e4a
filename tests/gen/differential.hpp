// The differential harness of zsync-gen (issue 5 §2): a function runs as plain code on BlockingIo and
// as its generated frame (driven like the seed's runStacklessAsync), with no fault, with operation k
// failing and with operation k cancelled, for every k the function reaches; the results, the traces of
// operations (FaultIo) and the traces of constructions/destructions (Tracked) must be identical. Then
// the frame is destroyed while it waits at each k: every object it constructed is destroyed exactly
// once, and no allocation is left.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <set>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>
#include "leak_check.hpp"
#include "tracked.hpp"
#include <unistd.h>
import zsync;
import zsync.testing;
#include "frame_runner.hpp"

namespace gen_test {

template <class T>
std::string describe_value(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) return "\"" + v + "\"";
    else if constexpr (std::is_arithmetic_v<T>) return std::to_string(v);
    else return "<value>";
}

inline std::string describe_error(const zsync::Error& e) {
    return "error(op " + std::to_string(int(e.op())) + ", code " + std::to_string(int(e.code())) + ", os " +
           std::to_string(e.os_error()) + ")";
}

template <class R>
std::string describe(const R& r) {
    if constexpr (requires { r.has_value(); r.error(); }) {
        if (!r) return describe_error(r.error());
        if constexpr (requires { *r; }) return describe_value(*r);
        else return "ok";
    } else {
        return describe_value(r);
    }
}

struct Outcome {
    std::string result;
    std::vector<zsync::testing::TraceEntry> ops;
    std::vector<std::string> events;
    int live_after = 0;  // Tracked objects alive once the call returned (the result's own)
    // Operations a frame performed itself, on the Io it was initialised with, instead of returning them
    // to its executor: it blocks where it should suspend (with the same Io both ways this went unseen).
    std::size_t performed_inside = 0;
};

inline std::string ops_text(const std::vector<zsync::testing::TraceEntry>& t) {
    std::string s;
    for (auto& e : t) s += std::to_string(int(e.op)) + ":" + std::to_string(int(e.outcome)) + (e.injected ? "*" : "") + " ";
    return s;
}

enum class Fault { none, fail, cancel };

inline void arm(zsync::testing::FaultIo& f, Fault fault, std::uint64_t k) {
    if (fault == Fault::fail) f.fail_at(k, zsync::Errc::system, 5);
    if (fault == Fault::cancel) f.cancel_at(k);
}

template <auto F, class... A>
Outcome run_plain(zsync::Io base, Fault fault, std::uint64_t k, A... args) {
    zsync::testing::FaultIo fio(base);
    arm(fio, fault, k);
    events.reset();
    Outcome o;
    {
        auto r = F(fio.io(), args...);
        o.events = events.log;
        o.live_after = events.live;
        o.result = describe(r);
    }
    o.ops = fio.trace();
    return o;
}

// The frame of F, found as a backend finds it: by the function's address in the registry.
template <auto F>
const zsync::FrameDescriptor* frame_descriptor() {
    return zsync::find_frame(zsync::function_identity(F));
}

// Frame memory owned by the caller (the executor): one buffer, aligned for any frame here.
struct FrameMemory {
    alignas(64) std::byte bytes[16384];
};

// @asyncInit through the descriptor, with the argument block a task would hand it.
template <auto F, class... A>
bool init_frame(const zsync::FrameDescriptor& d, FrameMemory& m, zsync::Io io, A... args) {
    if (d.size > sizeof m.bytes || d.align > 64) return false;
    typename zsync::frame_args<F>::type block{F, {io, args...}};
    d.init(m.bytes, &block);
    return true;
}

// How the frame gets its own Io. isolated: an Io nothing may be performed on (the frame must return
// every Operation to its executor). tasks: for functions that start tasks (io.async, Group::async) —
// the tasks must run somewhere, so the frame's Io is a FrameRunner over the executor's Io: a task with
// a frame runs as its frame, driven on the same Io (and the check that the frame performs nothing
// itself is then not made: its tasks legitimately do).
enum class FrameIo { isolated, tasks };

template <auto F, class... A>
Outcome run_frame(zsync::Io base, Fault fault, std::uint64_t k, FrameIo mode, A... args) {
    Outcome o;
    const zsync::FrameDescriptor* found = frame_descriptor<F>();
    if (!found) {
        o.result = "no frame registered for this function";
        return o;
    }
    const zsync::FrameDescriptor& d = *found;
    zsync::testing::FaultIo fio(base);
    arm(fio, fault, k);
    zsync::testing::FaultIo given(base);  // the frame's own Io: nothing may be performed on it
    zsync::test::FrameRunner runner(fio.io());
    events.reset();
    auto frame_memory = std::make_unique<FrameMemory>();
    std::byte* memory = frame_memory->bytes;
    if (!init_frame<F>(d, *frame_memory, mode == FrameIo::tasks ? runner.io() : given.io(), args...)) {
        o.result = "frame larger than the harness's buffer";
        return o;
    }
    zsync::Io io = fio.io();
    while (zsync::Operation* op = d.resume(memory)) (void)io.operate(*op);
    // The plain run's result is constructed in its caller; compare the events up to the same point.
    o.events = events.log;
    o.live_after = events.live;
    using R = zsync::as_result_t<decltype(F(std::declval<zsync::Io>(), args...))>;
    alignas(R) std::byte out[sizeof(R)];
    d.take_result(memory, out);
    d.destroy(memory);
    R* r = std::launder(reinterpret_cast<R*>(out));
    o.result = describe(*r);
    std::destroy_at(r);
    o.ops = fio.trace();
    o.performed_inside = given.trace().size();
    return o;
}

inline std::string compare(const Outcome& plain, const Outcome& frame, const std::string& where) {
    if (frame.performed_inside != 0)
        return where + ": the frame performed " + std::to_string(frame.performed_inside) +
               " operation(s) itself instead of returning them to the executor (it blocks where it should suspend)";
    if (plain.result != frame.result) return where + ": result " + plain.result + " (plain) vs " + frame.result + " (frame)";
    if (!(plain.ops == frame.ops))
        return where + ": operations [" + ops_text(plain.ops) + "] (plain) vs [" + ops_text(frame.ops) + "] (frame)";
    if (plain.events != frame.events) {
        std::size_t i = 0;
        while (i < plain.events.size() && i < frame.events.size() && plain.events[i] == frame.events[i]) ++i;
        return where + ": object events differ at #" + std::to_string(i) + ": '" +
               (i < plain.events.size() ? plain.events[i] : "<end>") + "' (plain) vs '" +
               (i < frame.events.size() ? frame.events[i] : "<end>") + "' (frame)";
    }
    if (plain.live_after != frame.live_after)
        return where + ": " + std::to_string(plain.live_after) + " live objects (plain) vs " + std::to_string(frame.live_after);
    return {};
}

// Runs every fault at every operation index. Returns "" or the first difference found.
template <auto F, class... A>
std::string differential_with(zsync::Io base, FrameIo mode, A... args) {
    // Warm-up, unmeasured: a thread's first operation allocates its cancellation state once.
    (void)run_plain<F>(base, Fault::none, 0, args...);
    // k = 0 runs without a fault and tells how many operations there are.
    std::uint64_t n = 0;
    for (std::uint64_t k = 0; k <= n; ++k) {
        for (Fault f : {Fault::fail, Fault::cancel}) {
            if (k == 0 && f == Fault::cancel) continue;
            const std::string where = k == 0 ? std::string("no fault")
                                             : (f == Fault::fail ? "operation " : "cancel at operation ") + std::to_string(k);
            events.reset();
            auto before = zsync::test::usage_now();
            std::string difference;
            {
                Outcome p = run_plain<F>(base, k ? f : Fault::none, k, args...);
                Outcome q = run_frame<F>(base, k ? f : Fault::none, k, mode, args...);
                difference = compare(p, q, where);
                if (k == 0) n = p.ops.size();
            }
            events.reset();
            auto after = zsync::test::usage_now();
            if (!difference.empty()) return difference;
            if (!(before == after)) return where + ": descriptors or allocations leaked";
        }
    }
    return {};
}

template <auto F, class... A>
std::string differential(zsync::Io base, A... args) { return differential_with<F>(base, FrameIo::isolated, args...); }
// For functions that start tasks: see FrameIo::tasks.
template <auto F, class... A>
std::string differential_tasks(zsync::Io base, A... args) { return differential_with<F>(base, FrameIo::tasks, args...); }

// The descriptors open now (for frames destroyed while they hold files: a File has no destructor, so
// a destroyed frame leaves its handles open, as a plain function abandoned there would; the harness
// closes them itself).
inline std::set<int> open_fds() {
    std::set<int> out;
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return out;
    const int own = ::dirfd(d);  // the listing's own descriptor is not one of the program's
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const int fd = std::atoi(e->d_name);
        if (fd != own) out.insert(fd);
    }
    ::closedir(d);
    return out;
}

// Destroys the frame while it waits at each suspension point k (after k-1 completed operations):
// everything constructed is destroyed exactly once, nothing leaks. Returns "" or the first problem.
template <auto F, class... A>
std::string destroy_at_every_point_with(zsync::Io base, bool closes_handles, A... args) {
    const zsync::FrameDescriptor* found = frame_descriptor<F>();
    if (!found) return "no frame registered for this function";
    const zsync::FrameDescriptor& d = *found;
    auto frame_memory = std::make_unique<FrameMemory>();
    std::byte* memory = frame_memory->bytes;
    for (std::uint64_t k = 1;; ++k) {
        events.reset();
        const std::set<int> fds_at_start = closes_handles ? open_fds() : std::set<int>();
        auto before = zsync::test::usage_now();
        if (!init_frame<F>(d, *frame_memory, base, args...)) return "frame larger than the harness's buffer";
        bool waiting = true;
        for (std::uint64_t i = 1; i <= k; ++i) {
            zsync::Operation* op = d.resume(memory);
            if (!op) {
                waiting = false;
                break;
            }
            if (i < k) (void)base.operate(*op);
        }
        if (!waiting) {
            using R = zsync::as_result_t<decltype(F(std::declval<zsync::Io>(), args...))>;
            alignas(R) std::byte out[sizeof(R)];
            d.take_result(memory, out);
            d.destroy(memory);
            std::destroy_at(std::launder(reinterpret_cast<R*>(out)));
            return events.live == 0 ? std::string() : "finished run left " + std::to_string(events.live) + " objects alive";
        }
        // The executor would cancel the pending Operation first; BlockingIo has nothing in flight.
        d.destroy(memory);
        if (closes_handles) {
            // Handles the frame had opened (still open, by design): closed here, not counted as a leak.
            for (int fd : open_fds())
                if (!fds_at_start.count(fd)) ::close(fd);
        }
        // Exactly once: as many destructions as constructions, and none alive.
        const int live = events.live;
        int made = 0, dropped = 0;
        for (const std::string& e : events.log) {
            if (e.rfind("make", 0) == 0 || e.rfind("copy ", 0) == 0 || e.rfind("move ", 0) == 0) ++made;
            if (e.rfind("drop", 0) == 0) ++dropped;
        }
        events.reset();
        auto after = zsync::test::usage_now();
        const std::string at = "destroyed while waiting at operation " + std::to_string(k) + ": ";
        if (live != 0) return at + std::to_string(live) + " objects still alive";
        if (made != dropped) return at + std::to_string(made) + " constructions, " + std::to_string(dropped) + " destructions";
        if (!(before == after))
            return at + "leaked (descriptors " + std::to_string(before.fds) + " -> " + std::to_string(after.fds) +
                   ", allocations " + std::to_string(before.allocations) + " -> " + std::to_string(after.allocations) + ")";
    }
}

template <auto F, class... A>
std::string destroy_at_every_point(zsync::Io base, A... args) { return destroy_at_every_point_with<F>(base, false, args...); }
// For functions that hold File or Dir handles across suspensions (see open_fds).
template <auto F, class... A>
std::string destroy_holding_handles(zsync::Io base, A... args) { return destroy_at_every_point_with<F>(base, true, args...); }

}  // namespace gen_test
