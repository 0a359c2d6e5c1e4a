// A misspelt annotation in the zsync namespace must not be ignored.
import zsync;

[[clang::annotate("zsync::stackles")]]
zsync::Result<void> nap(zsync::Io io) {
    return io.yield();
}
