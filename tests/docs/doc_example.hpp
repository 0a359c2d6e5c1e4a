// The table of docs/reference/ examples that tests/docs/CMakeLists.txt generates (examples/table.cpp).
#pragma once

namespace zsync_doc {

struct Example {
    const char* name;        // "<page>.<n>", the n-th program of docs/reference/<page>.md
    int (*run)();            // the example's main()
    int has_expected;        // 1 when the page gives its exact standard output
    const char* expected;    // that output
};

// Ends with an entry whose name is null.
extern const Example examples[];

}  // namespace zsync_doc
