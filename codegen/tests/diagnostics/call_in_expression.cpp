// Suspending calls inside expressions that zsync-gen refuses to evaluate ahead: in a for statement's
// increment, a class value that initialises another object (the frame would add a move), and an
// effectful class value computed before a suspending call in the same expression.
#include "string_stub.hpp"
import zsync;

zsync::Result<Text> name(zsync::Io io) {
    if (auto r = io.yield(); !r) return r.error();
    return Text{};
}
int take(zsync::Result<Text> t) { return t ? 1 : 0; }
int both(Text a, int b) { return b; }
int ready(zsync::Io io) { return io.yield() ? 1 : 0; }

[[clang::annotate("zsync::stackless")]]
int refused(zsync::Io io) {
    int n = 0;
    for (int i = 0; i < 3; i += ready(io)) ++n;
    n += take(name(io));
    n += both(Text{}, ready(io));
    return n;
}
