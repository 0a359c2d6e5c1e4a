// try/catch in a suspending function.
import zsync;

int parse(int x);

[[clang::annotate("zsync::stackless")]]
zsync::Result<int> load(zsync::Io io, int x) {
    if (auto r = io.yield(); !r) return r.error();
    try {
        return parse(x);
    } catch (...) {
        return 0;
    }
}
