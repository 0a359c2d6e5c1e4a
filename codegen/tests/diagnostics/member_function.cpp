// An annotated member function.
import zsync;

struct Session {
    int served = 0;

    [[clang::annotate("zsync::stackless")]]
    zsync::Result<void> serve(zsync::Io io) {
        if (auto r = io.yield(); !r) return r;
        ++served;
        return {};
    }
};
