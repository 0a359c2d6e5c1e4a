// goto (and its label) in a suspending function.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> retry(zsync::Io io, int attempts) {
again:
    if (auto r = io.yield(); !r) return r;
    if (--attempts > 0) goto again;
    return {};
}
