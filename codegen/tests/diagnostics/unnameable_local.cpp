// A lambda object alive across a suspension: the frame would have to name its type.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<int> twice(zsync::Io io, int x) {
    auto add = [](int a, int b) { return a + b; };
    if (auto r = io.yield(); !r) return r.error();
    return add(x, x);
}
