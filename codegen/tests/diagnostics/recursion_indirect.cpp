// Recursion through two functions: ping suspends and calls pong (inferred to suspend), which calls ping.
import zsync;

zsync::Result<void> pong(zsync::Io io, int n);

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> ping(zsync::Io io, int n) {
    if (auto r = io.yield(); !r) return r;
    return pong(io, n);
}

zsync::Result<void> pong(zsync::Io io, int n) {
    if (n == 0) return {};
    return ping(io, n - 1);
}
