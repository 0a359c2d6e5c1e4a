// Suspending calls inside an expression: a condition, and both operands of +.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> poll(zsync::Io io) {
    if (io.yield()) return {};
    return io.yield();
}

[[clang::annotate("zsync::stackless")]]
int f(zsync::Io io) {
    (void)io.yield();
    return 1;
}

[[clang::annotate("zsync::stackless")]]
int g(zsync::Io io) {
    (void)io.yield();
    return 2;
}

[[clang::annotate("zsync::stackless")]]
int sum(zsync::Io io) {
    return f(io) + g(io);
}
