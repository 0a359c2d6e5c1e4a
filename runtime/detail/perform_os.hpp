// The conversions perform.cpp and perform_net.cpp define and the reactor (runtime/reactor/) reuses, so
// that an Operation maps to the same flags, addresses and Errors on every path. Include in the purview of
// a `module zsync;` unit; the global module fragment needs <sys/socket.h> and <sys/types.h>.
#pragma once

namespace zsync::rt {

// OpenOptions as open(2) flags (always O_CLOEXEC).
int open_flags(const OpenOptions& o) noexcept;
// st_mode's file type as a FileKind.
FileKind kind_of_mode(mode_t m) noexcept;
// zsync's SocketAddress as a sockaddr; false (report invalid_argument) for an unspecified family or a bad path.
bool to_sockaddr(const SocketAddress& a, sockaddr_storage& out, socklen_t& len) noexcept;
// A kernel-filled sockaddr (len bytes valid) as a SocketAddress.
void from_sockaddr(const sockaddr_storage& in, socklen_t len, SocketAddress& a) noexcept;
// Op::poll's requested PollEvents bits as poll(2) events: readable POLLIN, writable POLLOUT, and always
// POLLRDHUP (a peer's shutdown is reported as hang_up, like POLLHUP). Other bits are ignored.
short poll_events_os(std::uint32_t events) noexcept;
// poll(2)'s revents (io_uring's POLL_ADD result too) as Op::poll's result: PollEvents bits.
// POLLNVAL is not a result (the caller reports EBADF); POLLPRI and the *NORM bits are dropped.
std::uint64_t poll_events_from_os(unsigned revents) noexcept;

}  // namespace zsync::rt
