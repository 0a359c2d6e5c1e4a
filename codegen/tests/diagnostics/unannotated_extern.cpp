// A function of another translation unit, not annotated, that is passed an Io: it may suspend.
import zsync;

zsync::Result<void> flush(zsync::Io io);  // defined elsewhere

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> save(zsync::Io io) {
    if (auto r = io.yield(); !r) return r;
    return flush(io);
}
