// A suspension inside a catch handler: the exception being handled would have to live across it
// (C++20 coroutines forbid co_await there too). try blocks around suspensions are supported.
import zsync;

int parse(int x);

[[clang::annotate("zsync::stackless")]]
zsync::Result<int> load(zsync::Io io, int x) {
    try {
        if (auto r = io.yield(); !r) return r.error();
        return parse(x);
    } catch (...) {
        if (auto r = io.yield(); !r) return r.error();
        return 0;
    }
}
