// See vtable_callee.cpp. Include after `import zsync;`.
#pragma once

namespace bench {
// A trivial operate: increments *(std::uint64_t*)ctx.
void trivial_operate(void* ctx, zsync::Operation& op) noexcept;
// An Io whose table's operate slot is trivial_operate, with `counter` as its ctx.
zsync::Io trivial_io(std::uint64_t* counter) noexcept;
}  // namespace bench
