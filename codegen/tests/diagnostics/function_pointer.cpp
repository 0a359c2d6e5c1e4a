// A call through a function pointer that is passed an Io may suspend anywhere.
import zsync;

using Step = zsync::Result<void> (*)(zsync::Io);

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> run(zsync::Io io, Step step) {
    if (auto r = io.yield(); !r) return r;
    return step(io);
}
