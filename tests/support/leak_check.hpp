// Leak accounting for tests: open file descriptors and live heap allocations, compared before and
// after a piece of work. Assertions must not run inside the measured window (Catch2 keeps the last
// assertion's text alive), so measure around the work and assert on the returned snapshot.
#pragma once
#include <atomic>

namespace zsync::test {

extern std::atomic<long> live_allocations;
extern std::atomic<long> total_allocations;

// Number of open descriptors of this process (entries of /proc/self/fd, minus the one used to list it).
int open_fd_count();

struct Usage {
    int fds;
    long allocations;
    friend bool operator==(const Usage&, const Usage&) = default;
};

inline Usage usage_now() { return {open_fd_count(), live_allocations.load()}; }

}  // namespace zsync::test
