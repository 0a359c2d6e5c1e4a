// Member functions that cannot have a frame: a virtual one (an override could be called), one of a
// class template, and a constructor that suspends.
import zsync;

struct Session {
    int served = 0;

    [[clang::annotate("zsync::stackless")]]
    virtual zsync::Result<void> serve(zsync::Io io) {
        if (auto r = io.yield(); !r) return r;
        ++served;
        return {};
    }
};

template <class T>
struct Box {
    [[clang::annotate("zsync::stackless")]]
    zsync::Result<void> fill(zsync::Io io) { return io.yield(); }
};

struct Eager {
    [[clang::annotate("zsync::stackless")]]
    explicit Eager(zsync::Io io) { (void)io.yield(); }
};
