// A reference to a thread_local alive across a suspension: the frame may resume on another thread.
import zsync;

thread_local int requests = 0;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> handle(zsync::Io io) {
    int& count = requests;
    ++count;
    if (auto r = io.yield(); !r) return r;
    ++count;
    return {};
}
