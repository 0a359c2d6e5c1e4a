// A std::lock_guard alive across a suspension: the frame may resume on another thread, which cannot unlock.
#include <mutex>
import zsync;

std::mutex table_mutex;
int table = 0;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> update(zsync::Io io) {
    std::lock_guard<std::mutex> hold(table_mutex);
    ++table;
    if (auto r = io.yield(); !r) return r;
    ++table;
    return {};
}
