// A source that does not parse: clang's error, then zsync-gen's own line.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> nap(zsync::Io io) {
    return io.yeld();
}
