// How the fiber layer fails: an errno-style code and the operation, for whoever asked for the fiber to turn
// into a zsync::Error (GreenThreadsIo). Nothing here throws or aborts on bad input.
#pragma once

namespace zsync::rt::fiber {

struct FiberError {
    int code;          // errno value: ENOMEM (no memory or address space), EINVAL (bad argument), ...
    const char* what;  // static text naming the operation and cause, e.g. "fiber stack: mmap failed"
};

}  // namespace zsync::rt::fiber
