// A suspending function that calls itself: its frame would contain itself.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> countdown(zsync::Io io, int n) {
    if (n == 0) return {};
    if (auto r = io.yield(); !r) return r;
    return countdown(io, n - 1);
}
