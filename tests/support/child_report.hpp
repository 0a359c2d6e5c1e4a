// For tests that run one side in a forked child: the child writes its plain-data report to the
// parent's pipe in full and exits (status 0; 2 when the pipe broke), never returning into Catch2.
#pragma once
#include <unistd.h>
#include <cstddef>
#include <type_traits>

namespace zsync_test {

template <class T>
[[noreturn]] inline void send_report_and_exit(int fd, const T& report) noexcept {
    static_assert(std::is_trivially_copyable_v<T>, "the report crosses a pipe as bytes");
    const char* p = reinterpret_cast<const char*>(&report);
    for (std::size_t left = sizeof report; left > 0;) {
        ssize_t w = ::write(fd, p, left);
        if (w <= 0) ::_exit(2);
        p += w;
        left -= static_cast<std::size_t>(w);
    }
    ::_exit(0);
}

}  // namespace zsync_test
