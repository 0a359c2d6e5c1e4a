// The functions of programs.cpp (compiled through zsync-gen), for the harness in gen_tests.cpp: the
// harness finds their frames through the registry, by address, as a backend would.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
import zsync;

namespace progs {
using zsync::Io;
using zsync::Result;
Result<int> for_loop(Io io, int n);
Result<int> while_and_do(Io io, int n);
Result<long> range_for(Io io, int n);
Result<int> break_and_continue(Io io, int n);
Result<std::string> branches(Io io, int mode);
Result<int> init_statements(Io io, int n);
Result<int> leaf(Io io, const std::string& tag, int times);
Result<int> level4(Io io, int x);
Result<int> level3(Io io, int x);
Result<int> level2(Io io, int x);
Result<int> level1(Io io, int x);
Result<int> five_deep(Io io, int x);
Result<long> sum_span(Io io, std::span<const int> values);
Result<long> spans_and_lambdas(Io io, int n);
Result<std::string> read_file(Io io, zsync::File f);
std::uint64_t advance(std::uint64_t& offset);
Result<std::string> two_in_a_row(Io io, zsync::File f);
Result<int> log_lines(Io io, zsync::File out, int n);
void touch(Io io, int& counter);
Result<int> void_callee(Io io, int n);
Result<int> expressions(Io io, int n);
Result<int> members(Io io, int amount);
Result<int> exceptions(Io io, int when);
Result<std::string> in_dir(Io io, zsync::Dir dir, int round);
Result<std::string> files_and_dirs(Io io, std::string_view path, int round);
Result<int> child(Io io, int v);
Result<int> spawn_and_await(Io io, int n);
Result<int> pool_child(Io io, int v);
Result<int> await_all(Io io, int n);
Result<int> mutex_work(Io io, zsync::Mutex* busy, int n);
Result<std::string> exchange(Io io, zsync::UnixStream a, zsync::UnixStream b);
Result<std::string> sockets(Io io, int tag);
Result<std::size_t> named_task(Io io, std::string_view name, std::string suffix, int times);
}  // namespace progs
