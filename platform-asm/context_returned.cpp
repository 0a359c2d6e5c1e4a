// The report behind a context entry that returned instead of jumping away (context.h): a programming error,
// so it is said on stderr and the process aborts, rather than running off the top of a stack.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "context.h"

extern "C" void zsync_ctx_entry_returned(void) {
    static const char msg[] =
        "zsync: a context's entry function returned; it must end by jumping to another context (aborting)\n";
    // write(2), not stdio: the stack may be nearly spent and this must not allocate.
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    std::abort();
}
