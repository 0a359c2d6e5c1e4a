// The module map names a module file that does not exist (run_golden.cmake reads the line below).
// zsync-gen-test: module-file zsync=missing/zsync.pcm
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> nap(zsync::Io io) {
    return io.yield();
}
