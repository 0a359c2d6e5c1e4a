// An annotated function declared but not defined in this file: there is no body to make a frame of.
import zsync;

[[clang::annotate("zsync::stackless")]]
zsync::Result<void> flush(zsync::Io io);
