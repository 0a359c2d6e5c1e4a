// Uses an installed zsync through `import zsync;` only: writes a file with zsync::File on BlockingIo,
// reads it back in several ways (and once on ThreadPoolIo) and checks every byte. Exits non-zero on any error or mismatch.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <system_error>
#include <string_view>
#include <vector>
#include <unistd.h>
import zsync;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "consumer: FAILED: %s\n", what);
        ++failures;
    }
}

template <class T>
bool ok(const zsync::Result<T>& r, const char* what) {
    if (!r) std::fprintf(stderr, "consumer: %s: %s\n", what, r.error().message().c_str());
    check(r.has_value(), what);
    return r.has_value();
}

zsync::Result<void> write_file(zsync::Io io, std::string_view path, std::span<const std::byte> data) {
    auto f = zsync::File::create(io, path);
    if (!f) return f.error();
    auto written = f->write_all(io, data);
    auto closed = f->close(io);
    if (!written) return written;
    return closed;
}

zsync::Result<std::vector<std::byte>> read_back(zsync::Io io, std::string_view path, std::size_t n) {
    auto f = zsync::File::open(io, path);
    if (!f) return f.error();
    std::vector<std::byte> buf(n);
    auto r = f->read_exact(io, buf);
    (void)f->close(io);
    if (!r) return r.error();
    return buf;
}

}  // namespace

int main() {
    char tmpl[] = "/tmp/zsync-consumer-XXXXXX";
    if (!::mkdtemp(tmpl)) { std::perror("mkdtemp"); return 1; }
    const std::string dir = tmpl, path = dir + "/data.bin";

    std::vector<std::byte> data(100'000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte((i * 7 + 3) % 251);

    zsync::BlockingIo rt;

    // 1. Write through rt.run, then read the whole file back through another rt.run.
    ok(rt.run(write_file, std::string_view(path), std::span<const std::byte>(data)), "write_file");
    auto back = rt.run(read_back, std::string_view(path), data.size());
    if (ok(back, "read_back")) check(*back == data, "bytes read back equal the bytes written");

    // 2. Two tasks started with io.async and awaited, as in the save_data sample.
    auto both = rt.run([&](zsync::Io io) -> zsync::Result<std::size_t> {
        auto a = io.async(read_back, io, std::string_view(path), std::size_t(10));
        auto b = io.async([](zsync::Io io, std::string_view p) -> zsync::Result<std::size_t> {
            auto f = zsync::File::open(io, p);
            if (!f) return f.error();
            auto st = f->stat(io);
            (void)f->close(io);
            if (!st) return st.error();
            return std::size_t(st->size);
        }, io, std::string_view(path));
        auto ra = a.await(io);
        if (!ra) return ra.error();
        auto rb = b.await(io);
        if (!rb) return rb.error();
        if (std::vector<std::byte>(data.begin(), data.begin() + 10) != *ra) return std::size_t(0);
        return *rb;
    });
    if (ok(both, "async + await")) check(*both == data.size(), "stat size and prefix through io.async");

    // 3. pread at an offset, and a read past the end reports 0 bytes.
    auto tail = rt.run([&](zsync::Io io) -> zsync::Result<bool> {
        auto f = zsync::File::open(io, path);
        if (!f) return f.error();
        std::vector<std::byte> buf(16);
        auto n = f->pread(io, buf, 50'000);
        auto past = f->pread(io, buf, data.size() + 5);
        (void)f->close(io);
        if (!n) return n.error();
        if (!past) return past.error();
        return *n == 16 && *past == 0 &&
               std::equal(buf.begin(), buf.end(), data.begin() + 50'000);
    });
    if (ok(tail, "pread")) check(*tail, "pread returns the right bytes and 0 past the end");

    // 4. An error is a value: opening a missing file fails with ENOENT.
    auto missing = rt.run([&](zsync::Io io) { return zsync::File::open(io, dir + "/nope"); });
    check(!missing && missing.error().is(std::errc::no_such_file_or_directory),
          "opening a missing file reports ENOENT");

    // 5. The same function on the other backend: ThreadPoolIo runs it as a task on a worker.
    {
        zsync::ThreadPoolIo pool(zsync::ThreadPoolIo::Options{.workers = 2});
        auto again = pool.run(read_back, std::string_view(path), data.size());
        if (ok(again, "read_back on ThreadPoolIo")) check(*again == data, "ThreadPoolIo reads the same bytes");
    }

    auto cleanup = rt.run([&](zsync::Io io) -> zsync::Result<void> {
        if (auto r = zsync::Dir::cwd().delete_file(io, path); !r) return r;
        return zsync::Dir::cwd().delete_dir(io, dir);
    });
    ok(cleanup, "cleanup");

    if (failures) {
        std::fprintf(stderr, "consumer: %d check(s) failed\n", failures);
        return 1;
    }
    std::puts("consumer: find_package(zsync) + import zsync, BlockingIo and ThreadPoolIo: all checks passed");
    return 0;
}
