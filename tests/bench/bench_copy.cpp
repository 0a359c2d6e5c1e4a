// Copying a file in fixed-size chunks through Io (File::read + File::write_all on BlockingIo) against
// the same loop over ::read / ::write, in one program.
//
//   bench_copy [--mode wall|io|direct] [--size-mib 256] [--chunk-kib 64] [--runs 7] [--dir /tmp]
//
// Setup: a source file of --size-mib MiB is written in --dir, read once to warm the page cache, and
// copied once by each mode (untimed) so that the destination exists at full size. Each timed run opens
// both files, copies source to destination from offset 0 (overwriting, no truncation) and closes them;
// opening and closing are outside the timed region. `wall` alternates direct and io runs (the first
// mode of each pair alternates too) and prints the medians with min–max and the ratio of the medians.
// After the last run the destination is compared with the source. Both files are removed at exit.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench_common.hpp"
import zsync;

namespace {

struct Files {
    std::string src, dst;
    ~Files() {
        if (!src.empty()) ::unlink(src.c_str());
        if (!dst.empty()) ::unlink(dst.c_str());
    }
};

std::uint64_t copy_direct(int in, int out, std::byte* buf, std::size_t chunk) {
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(in, buf, chunk);
        if (n < 0) { if (errno == EINTR) continue; bench::die("read"); }
        if (n == 0) return total;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::write(out, buf + done, std::size_t(n - done));
            if (w < 0) { if (errno == EINTR) continue; bench::die("write"); }
            if (w == 0) bench::die("write returned 0");
            done += w;
        }
        total += std::uint64_t(n);
    }
}

std::uint64_t copy_io(zsync::Io io, int in_fd, int out_fd, std::byte* buf, std::size_t chunk) {
    const zsync::File in{in_fd}, out{out_fd};
    std::uint64_t total = 0;
    for (;;) {
        auto n = in.read(io, std::span<std::byte>(buf, chunk));
        if (!n) { std::fprintf(stderr, "error: File::read failed\n"); std::exit(1); }
        if (*n == 0) return total;
        if (auto w = out.write_all(io, std::span<const std::byte>(buf, *n)); !w) {
            std::fprintf(stderr, "error: File::write_all failed\n");
            std::exit(1);
        }
        total += *n;
    }
}

// One copy by `mode`; returns the elapsed nanoseconds.
double timed_copy(bool io_mode, zsync::Io io, const Files& f, std::byte* buf, std::size_t chunk, std::uint64_t size) {
    int in = ::open(f.src.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(f.dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (in < 0 || out < 0) bench::die("open");
    double t0 = bench::now_ns();
    std::uint64_t n = io_mode ? copy_io(io, in, out, buf, chunk) : copy_direct(in, out, buf, chunk);
    double t1 = bench::now_ns();
    ::close(in);
    ::close(out);
    if (n != size) { std::fprintf(stderr, "error: copied %llu of %llu bytes\n", (unsigned long long)n, (unsigned long long)size); std::exit(1); }
    return t1 - t0;
}

void write_source(const std::string& path, std::uint64_t size, std::byte* buf, std::size_t chunk) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) bench::die("create source");
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (std::uint64_t done = 0; done < size;) {
        std::size_t n = std::size_t(std::min<std::uint64_t>(chunk, size - done));
        for (std::size_t i = 0; i + 8 <= n; i += 8) {  // not all zeros, not compressible
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            std::memcpy(buf + i, &x, 8);
        }
        if (::write(fd, buf, n) != ssize_t(n)) bench::die("write source");
        done += n;
    }
    ::close(fd);
}

void read_all(const std::string& path, std::byte* buf, std::size_t chunk) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) bench::die("open source");
    while (::read(fd, buf, chunk) > 0) {}
    ::close(fd);
}

bool same_contents(const Files& f, std::size_t chunk) {
    int a = ::open(f.src.c_str(), O_RDONLY | O_CLOEXEC), b = ::open(f.dst.c_str(), O_RDONLY | O_CLOEXEC);
    if (a < 0 || b < 0) bench::die("open for compare");
    std::vector<std::byte> x(chunk), y(chunk);
    bool same = true;
    for (;;) {
        ssize_t n = ::read(a, x.data(), chunk), m = ::read(b, y.data(), chunk);
        if (n != m || (n > 0 && std::memcmp(x.data(), y.data(), std::size_t(n)) != 0)) { same = false; break; }
        if (n <= 0) break;
    }
    ::close(a);
    ::close(b);
    return same;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    const std::uint64_t size = args.num("--size-mib", 256) << 20;
    const std::size_t chunk = std::size_t(args.num("--chunk-kib", 64) << 10);
    const std::uint64_t runs = args.num("--runs", 7);
    const std::string dir(args.get("--dir", "/tmp"));
    if (chunk == 0 || size == 0) { std::fprintf(stderr, "sizes must be positive\n"); return 2; }
    if (mode != "wall" && mode != "io" && mode != "direct") { std::fprintf(stderr, "unknown mode %s (wall|io|direct)\n", mode.c_str()); return 2; }

    Files f;
    const std::string stem = dir + "/zsync-bench-copy-" + std::to_string(::getpid());
    f.src = stem + ".src";
    f.dst = stem + ".dst";
    std::unique_ptr<std::byte[]> owned(new std::byte[chunk + 4096]);
    auto* buf = reinterpret_cast<std::byte*>((reinterpret_cast<std::uintptr_t>(owned.get()) + 4095) & ~std::uintptr_t(4095));

    zsync::BlockingIo blocking;
    const zsync::Io io = blocking.io();

    write_source(f.src, size, buf, chunk);
    read_all(f.src, buf, chunk);  // page cache warm
    // Untimed copies: the destination exists at full size, both code paths are warm.
    timed_copy(false, io, f, buf, chunk, size);
    timed_copy(true, io, f, buf, chunk, size);

    std::printf("info copy size_mib=%llu chunk_kib=%llu dir=%s\n", (unsigned long long)(size >> 20),
                (unsigned long long)(chunk >> 10), dir.c_str());
    if (mode != "wall") {
        std::vector<double> ms;
        for (std::uint64_t r = 0; r < runs; ++r) ms.push_back(timed_copy(mode == "io", io, f, buf, chunk, size) / 1e6);
        bench::print_summary(("copy." + mode + ".ms").c_str(), "ms", ms);
        return same_contents(f, chunk) ? 0 : (std::fprintf(stderr, "error: copy differs from source\n"), 1);
    }

    std::vector<double> ms[2], paired;
    for (std::uint64_t r = 0; r < runs; ++r) {
        double t[2];
        for (int k = 0; k < 2; ++k) {
            int m = int((k + r) % 2);  // 0 = direct, 1 = io; who goes first alternates
            t[m] = timed_copy(m == 1, io, f, buf, chunk, size) / 1e6;
            ms[m].push_back(t[m]);
        }
        paired.push_back(t[1] / t[0]);
    }
    if (!same_contents(f, chunk)) { std::fprintf(stderr, "error: copy differs from source\n"); return 1; }
    bench::print_summary("copy.direct.ms", "ms", ms[0]);
    bench::print_summary("copy.io.ms", "ms", ms[1]);
    bench::Summary d = bench::summarize(ms[0]), i = bench::summarize(ms[1]);
    std::printf("figure copy.io_over_direct.ratio_of_medians %.4f x\n", i.median / d.median);
    bench::print_summary("copy.io_over_direct.paired_ratio", "x", paired);
    std::printf("figure copy.direct.mib_per_s %.1f MiB/s\n", double(size >> 20) / (d.median / 1e3));
    std::printf("figure copy.io.mib_per_s %.1f MiB/s\n", double(size >> 20) / (i.median / 1e3));
    return 0;
}
