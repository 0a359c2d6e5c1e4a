// A virtual call that is passed an Io may reach an override that suspends.
import zsync;

struct Handler {
    virtual zsync::Result<void> handle(zsync::Io io) = 0;
};

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> serve(zsync::Io io, Handler& h) {
    if (auto r = io.yield(); !r) return r;
    return h.handle(io);
}
