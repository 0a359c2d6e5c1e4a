// Uses an installed zsync through `import zsync;` only: writes a file with zsync::File on BlockingIo,
// reads it back in several ways (and once on ThreadPoolIo) and checks every byte. Exits non-zero on any error or mismatch.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
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

// Compiled through the installed zsync-gen (zsync_stackless in CMakeLists.txt): this plain function
// also gets a stackless frame, registered by its address, which embeds the frame of the library's own
// annotated zsync::write_all.
[[clang::annotate("zsync::stackless")]]
zsync::Result<std::uint64_t> copy_in_chunks(zsync::Io io, zsync::File in, zsync::File out, std::uint64_t size) {
    std::byte chunk[4096];
    std::uint64_t done = 0;
    while (done < size) {
        auto n = in.pread(io, chunk, done);
        if (!n) return n.error();
        if (*n == 0) break;
        auto w = zsync::write_all(io, out, std::span<const std::byte>(chunk, *n));
        if (!w) return w.error();
        done += *n;
    }
    return done;
}

// Runs copy_in_chunks as its frame: found in the registry as a frame executor finds it, constructed in
// memory on this stack, resumed until done with each Operation it returns performed on `io`.
zsync::Result<std::uint64_t> copy_as_frame(zsync::Io io, zsync::File in, zsync::File out, std::uint64_t size) {
    const zsync::FrameDescriptor* d = zsync::find_frame(zsync::function_identity(&copy_in_chunks));
    if (!d) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run);
    alignas(64) std::byte memory[8192];
    if (d->size > sizeof memory || d->align > 64) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run);
    zsync::frame_args<&copy_in_chunks>::type args{&copy_in_chunks, {io, in, out, size}};
    alignas(zsync::Result<std::uint64_t>) std::byte result[sizeof(zsync::Result<std::uint64_t>)];
    zsync::drive_frame(io, *d, memory, &args, result);
    auto* r = std::launder(reinterpret_cast<zsync::Result<std::uint64_t>*>(result));
    zsync::Result<std::uint64_t> out_value = std::move(*r);
    std::destroy_at(r);
    return out_value;
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
        auto a = io.async(read_back, std::string_view(path), std::size_t(10));
        auto b = io.async([](zsync::Io io, std::string_view p) -> zsync::Result<std::size_t> {
            auto f = zsync::File::open(io, p);
            if (!f) return f.error();
            auto st = f->stat(io);
            (void)f->close(io);
            if (!st) return st.error();
            return std::size_t(st->size);
        }, std::string_view(path));
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

    // 6. The stackless frame zsync-gen made of copy_in_chunks copies the file as the plain function does.
    const std::string copy_plain = dir + "/plain.bin", copy_frame = dir + "/frame.bin";
    auto copies = rt.run([&](zsync::Io io) -> zsync::Result<bool> {
        auto in = zsync::File::open(io, path);
        if (!in) return in.error();
        auto a = zsync::File::create(io, copy_plain);
        auto b = zsync::File::create(io, copy_frame);
        if (!a || !b) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::open);
        auto plain = copy_in_chunks(io, *in, *a, data.size());
        auto frame = copy_as_frame(io, *in, *b, data.size());
        (void)in->close(io);
        (void)a->close(io);
        (void)b->close(io);
        if (!plain) return plain.error();
        if (!frame) return frame.error();
        return *plain == data.size() && *frame == data.size();
    });
    if (ok(copies, "copy_in_chunks, plain and as its frame")) check(*copies, "both copies report every byte");
    auto copied = rt.run(read_back, std::string_view(copy_frame), data.size());
    if (ok(copied, "read the frame's copy")) check(*copied == data, "the frame's copy equals the original");

    auto cleanup = rt.run([&](zsync::Io io) -> zsync::Result<void> {
        for (const std::string& p : {copy_plain, copy_frame})
            if (auto r = zsync::Dir::cwd().delete_file(io, p); !r) return r;
        if (auto r = zsync::Dir::cwd().delete_file(io, path); !r) return r;
        return zsync::Dir::cwd().delete_dir(io, dir);
    });
    ok(cleanup, "cleanup");

    if (failures) {
        std::fprintf(stderr, "consumer: %d check(s) failed\n", failures);
        return 1;
    }
    std::puts("consumer: find_package(zsync) + import zsync, BlockingIo, ThreadPoolIo and a zsync-gen frame: all checks passed");
    return 0;
}
