// Links the context switch into a CET-marked program (tests/fiber/cet_check.cmake).
#include "context.h"
int main() { return zsync_ctx_make(nullptr, 0, nullptr) == nullptr; }
