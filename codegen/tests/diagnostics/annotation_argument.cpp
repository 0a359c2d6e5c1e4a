// The annotation takes no arguments.
import zsync;

[[clang::annotate("zsync::stackless", 1)]]
zsync::Result<void> nap(zsync::Io io) {
    return io.yield();
}
