// A 64-byte pread through BlockingIo against the direct ::pread, in one program.
//
// Modes (each runs one measured loop of --iters calls on a 4 KiB file in --dir, page cache warm):
//   io        zsync::File{fd}.pread(io, buf, 0)            (the public API)
//   operate   Operation::pread + io.operate(op)            (the Io table, one level lower)
//   direct    ::pread(fd, buf, 64, 0)                      (the peer)
//   baseline  the same loop with no call at all            (loop overhead, for reference)
//   wall      interleaves io / operate / direct --runs times and prints median ns per call
// Under callgrind (see run_benchmarks.sh) only the zsync_bench_* loop functions are counted, so
// (Ir(io) - Ir(direct)) / iters is what BlockingIo adds to the syscall in user space; the kernel's part
// is not counted by callgrind and would cancel anyway.
//
// Allocations: global operator new is replaced (tests/support/alloc_counter.cpp); every mode prints
// how many allocations its loop made.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>
#include <fcntl.h>
#include <unistd.h>
#include "bench_common.hpp"
#include "leak_check.hpp"
import zsync;

namespace {
constexpr std::size_t read_size = 64;
}

extern "C" {

[[gnu::noinline]] std::uint64_t zsync_bench_pread_io(zsync::Io io, int fd, std::byte* buf, std::uint64_t iters) {
    const zsync::File f{fd};
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        auto r = f.pread(io, std::span<std::byte>(buf, read_size), 0);
        if (!r) return ~std::uint64_t(0);
        sum += *r;
    }
    return sum;
}

[[gnu::noinline]] std::uint64_t zsync_bench_pread_operate(zsync::Io io, int fd, std::byte* buf, std::uint64_t iters) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        auto op = zsync::Operation::pread(fd, std::span<std::byte>(buf, read_size), 0);
        io.vtable->operate(io.ctx, op);
        if (!op.result) return ~std::uint64_t(0);
        sum += *op.result;
    }
    return sum;
}

[[gnu::noinline]] std::uint64_t zsync_bench_pread_direct(int fd, std::byte* buf, std::uint64_t iters) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        ssize_t r = ::pread(fd, buf, read_size, 0);
        if (r < 0) return ~std::uint64_t(0);
        sum += static_cast<std::uint64_t>(r);
    }
    return sum;
}

[[gnu::noinline]] std::uint64_t zsync_bench_pread_baseline(int fd, std::byte* buf, std::uint64_t iters) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        bench::keep(buf);
        sum += read_size + static_cast<std::uint64_t>(fd < 0);
    }
    return sum;
}

}  // extern "C"

namespace {

struct Setup {
    std::string path;
    int fd = -1;
    alignas(64) std::byte buf[read_size];
};

void make_file(Setup& s, const std::string& dir) {
    s.path = dir + "/zsync-bench-pread-XXXXXX";
    s.fd = ::mkstemp(s.path.data());
    if (s.fd < 0) bench::die("mkstemp");
    std::vector<char> data(4096, 'x');
    if (::write(s.fd, data.data(), data.size()) != ssize_t(data.size())) bench::die("write");
    ::unlink(s.path.c_str());  // the descriptor keeps it alive
}

// Runs one mode's loop once; returns its checksum (must be iters * 64).
std::uint64_t run_mode(const std::string& mode, zsync::Io io, Setup& s, std::uint64_t iters) {
    if (mode == "io") return zsync_bench_pread_io(io, s.fd, s.buf, iters);
    if (mode == "operate") return zsync_bench_pread_operate(io, s.fd, s.buf, iters);
    if (mode == "direct") return zsync_bench_pread_direct(s.fd, s.buf, iters);
    if (mode == "baseline") return zsync_bench_pread_baseline(s.fd, s.buf, iters);
    std::fprintf(stderr, "unknown mode %s (io|operate|direct|baseline|wall)\n", mode.c_str());
    std::exit(2);
}

// One warm-up call of the same kind outside the measured function: resolves lazy PLT bindings and
// the cached thread id, so the measured loop holds only steady-state calls.
void warm_up(const std::string& mode, zsync::Io io, Setup& s) {
    if (mode == "io") (void)zsync::File{s.fd}.pread(io, std::span<std::byte>(s.buf, read_size), 0);
    else if (mode == "operate") { auto op = zsync::Operation::pread(s.fd, std::span<std::byte>(s.buf, read_size), 0); (void)io.operate(op); }
    else if (mode == "direct") (void)!::pread(s.fd, s.buf, read_size, 0);
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    const std::uint64_t iters = args.num("--iters", 100000);
    const std::string dir(args.get("--dir", "/tmp"));

    Setup s;
    make_file(s, dir);
    zsync::BlockingIo blocking;
    const zsync::Io io = blocking.io();

    if (mode != "wall") {
        warm_up(mode, io, s);
        long before = zsync::test::total_allocations.load();
        std::uint64_t sum = run_mode(mode, io, s, iters);
        long allocs = zsync::test::total_allocations.load() - before;
        if (sum != iters * read_size) { std::fprintf(stderr, "checksum mismatch: %llu\n", (unsigned long long)sum); return 1; }
        std::printf("figure pread.%s.allocations %ld count iters=%llu per_call=%.6f\n", mode.c_str(), allocs,
                    (unsigned long long)iters, double(allocs) / double(iters ? iters : 1));
        return 0;
    }

    // Wall clock: interleave the modes, rotating the order each run so that none always goes first.
    const std::uint64_t runs = args.num("--runs", 7);
    const char* modes[] = {"direct", "io", "operate"};
    std::vector<double> ns[3];
    std::vector<double> ratio_io, ratio_operate;
    long allocs_io = 0;
    for (const char* m : modes) warm_up(m, io, s);
    for (std::uint64_t r = 0; r < runs; ++r) {
        double t[3];
        for (int k = 0; k < 3; ++k) {
            int m = int((k + r) % 3);
            long before = zsync::test::total_allocations.load();
            double t0 = bench::now_ns();
            std::uint64_t sum = run_mode(modes[m], io, s, iters);
            double t1 = bench::now_ns();
            if (m == 1) allocs_io += zsync::test::total_allocations.load() - before;
            if (sum != iters * read_size) { std::fprintf(stderr, "checksum mismatch in %s\n", modes[m]); return 1; }
            t[m] = (t1 - t0) / double(iters);
            ns[m].push_back(t[m]);
        }
        ratio_io.push_back(t[1] / t[0]);
        ratio_operate.push_back(t[2] / t[0]);
    }
    bench::print_summary("pread.direct.ns_per_call", "ns", ns[0]);
    bench::print_summary("pread.io.ns_per_call", "ns", ns[1]);
    bench::print_summary("pread.operate.ns_per_call", "ns", ns[2]);
    bench::print_summary("pread.io_over_direct.ratio", "x", ratio_io);
    bench::print_summary("pread.operate_over_direct.ratio", "x", ratio_operate);
    std::printf("figure pread.io.allocations %ld count iters=%llu per_call=%.6f\n", allocs_io,
                (unsigned long long)(iters * runs), double(allocs_io) / double(iters * runs ? iters * runs : 1));
    return 0;
}
