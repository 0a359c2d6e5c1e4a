// The callee side of bench_vtable, in its own translation unit so that the compiler compiling the
// measured loops cannot see through it: it cannot inline the callee into the direct loop, nor learn
// which table an Io holds and devirtualise the table call.
#include <cstdint>
import zsync;
#include "vtable_callee.hpp"

namespace bench {

// The work both forms of call do: count the call in the context. Nothing else.
[[gnu::noinline]] void trivial_operate(void* ctx, zsync::Operation&) noexcept { ++*static_cast<std::uint64_t*>(ctx); }

namespace {
// Only the operate slot is ever called through this table.
constexpr zsync::IoVTable trivial_table{.operate = trivial_operate};
}  // namespace

[[gnu::noinline]] zsync::Io trivial_io(std::uint64_t* counter) noexcept { return zsync::Io{counter, &trivial_table}; }

}  // namespace bench
