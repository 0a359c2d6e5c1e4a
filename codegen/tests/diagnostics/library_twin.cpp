// A library member that waits more than once, called in a frame: the diagnostic names its twin.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> guarded(zsync::Io io, zsync::Mutex* m) {
    if (auto r = m->lock(io); !r) return r;
    return m->unlock(io);
}
