// Awaiting a Future that is not a named variable: the frame would evaluate it twice.
import zsync;

int answer(zsync::Io) { return 42; }

[[clang::annotate("zsync::stackless")]]
zsync::Result<int> ask(zsync::Io io) {
    return io.async(answer).await(io);
}
