// The hot syscalls (read, write, pread, pwrite) made directly, as Zig's std does on Linux: libc's
// wrappers add a cancellation-point check and an indirect call that zsync does not need (it has its
// own cancellation). They behave like the libc functions: -1 with errno set on failure.
//
// Under a sanitizer the libc functions are used, so the sanitizer's interceptors still see the
// buffers; on other architectures too (until a raw path is written and tested for them).
#pragma once
#include <cerrno>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define ZSYNC_SANITIZED_SYSCALLS 1
#endif
#endif

namespace zsync::rt::sys {

#if defined(__x86_64__) && !defined(ZSYNC_SANITIZED_SYSCALLS)
inline long raw4(long n, long a, long b, long c, long d) noexcept {
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) [[unlikely]] {
        errno = static_cast<int>(-ret);
        return -1;
    }
    return ret;
}
inline ssize_t read(int fd, void* b, size_t n) noexcept { return raw4(SYS_read, fd, long(b), long(n), 0); }
inline ssize_t write(int fd, const void* b, size_t n) noexcept { return raw4(SYS_write, fd, long(b), long(n), 0); }
inline ssize_t pread(int fd, void* b, size_t n, off_t off) noexcept { return raw4(SYS_pread64, fd, long(b), long(n), long(off)); }
inline ssize_t pwrite(int fd, const void* b, size_t n, off_t off) noexcept { return raw4(SYS_pwrite64, fd, long(b), long(n), long(off)); }
// read/write/pread/pwrite by number: the result, or -errno, without touching errno.
inline long rw_raw(long nr, int fd, const void* b, size_t n, off_t off) noexcept {
    long ret;
    register long r10 __asm__("r10") = long(off);
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(long(fd)), "S"(long(b)), "d"(long(n)), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}
inline constexpr long nr_read = SYS_read, nr_write = SYS_write, nr_pread = SYS_pread64, nr_pwrite = SYS_pwrite64;
#else
inline ssize_t read(int fd, void* b, size_t n) noexcept { return ::read(fd, b, n); }
inline ssize_t write(int fd, const void* b, size_t n) noexcept { return ::write(fd, b, n); }
inline ssize_t pread(int fd, void* b, size_t n, off_t off) noexcept { return ::pread(fd, b, n, off); }
inline ssize_t pwrite(int fd, const void* b, size_t n, off_t off) noexcept { return ::pwrite(fd, b, n, off); }
inline constexpr long nr_read = 0, nr_write = 1, nr_pread = 2, nr_pwrite = 3;  // selectors, not syscall numbers
inline long rw_raw(long nr, int fd, const void* b, size_t n, off_t off) noexcept {
    ssize_t r = nr == nr_read ? ::read(fd, const_cast<void*>(b), n)
              : nr == nr_write ? ::write(fd, b, n)
              : nr == nr_pread ? ::pread(fd, const_cast<void*>(b), n, off)
                               : ::pwrite(fd, b, n, off);
    return r < 0 ? -errno : r;
}
#endif

}  // namespace zsync::rt::sys
