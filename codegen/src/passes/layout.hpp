// Pass 3: the frame's layout. Names every member (names.hpp), nests each scope's storage in a union
// with its siblings (scopes that are never alive together share bytes), and computes the frame's size
// and alignment with the target's type sizes — the figure the printer ties to sizeof with a
// static_assert and writes to the report.
#pragma once
#include "context.hpp"

namespace zsync_gen {

void lay_out(Context& cx, FunctionModel& m);

}  // namespace zsync_gen
