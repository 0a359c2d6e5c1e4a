// The seed's saveData example, as plain functions taking Io: two files saved "at once" (concurrently
// where the backend can), then a line on standard output. The same functions run on every backend;
// --backend picks one.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>
import zsync;

namespace {

// Writes `data` to `name` and closes it, reporting the first error.
zsync::Result<void> save_file(zsync::Io io, std::span<const std::byte> data, std::string_view name) {
    auto file = zsync::File::create(io, name);
    if (!file) return file.error();
    auto written = file->write_all(io, data);
    auto closed = file->close(io);  // always close, even after a failed write
    if (!written) return written;
    return closed;
}

zsync::Result<void> save_data(zsync::Io io, std::span<const std::byte> data, std::string_view dir) {
    std::string a = std::string(dir) + "/saveA.txt", b = std::string(dir) + "/saveB.txt";
    auto fa = io.async(save_file, data, std::string_view(a));
    auto fb = io.async(save_file, data, std::string_view(b));
    // fa and fb are cancelled and joined if we return early (the RAII form of `defer f.cancel(io)`).
    if (auto r = fa.await(io); !r) return r;
    if (auto r = fb.await(io); !r) return r;
    return zsync::File::standard_output().write_all(io, "save complete\n");
}

template <class Backend>
int run_on(std::span<const std::byte> data, std::string_view dir) {
    Backend rt;
    auto t0 = std::chrono::steady_clock::now();
    auto r = rt.run(save_data, data, dir);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!r) {
        std::fprintf(stderr, "save_data on %s failed: %s\n", std::string(Backend::name).c_str(), r.error().message().c_str());
        return 1;
    }
    std::printf("backend %s: wrote %zu bytes to %.*s/saveA.txt and %.*s/saveB.txt in %lld us\n",
                std::string(Backend::name).c_str(), data.size(), int(dir.size()), dir.data(), int(dir.size()),
                dir.data(), static_cast<long long>(us));
    return 0;
}

void usage() {
    std::fprintf(stderr,
                 "usage: save_data [--backend NAME] [--dir DIR] [--bytes N]\n"
                 "backends: blocking, pool\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::string backend = "blocking", dir = ".";
    std::size_t bytes = 1 << 20;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--backend" && i + 1 < argc) backend = argv[++i];
        else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--bytes" && i + 1 < argc) bytes = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--list-backends") { std::puts("blocking\npool\ngreen"); return 0; }
        else { usage(); return 2; }
    }
    std::vector<std::byte> data(bytes);
    for (std::size_t i = 0; i < bytes; ++i) data[i] = std::byte('a' + i % 26);
    if (backend == "blocking") return run_on<zsync::BlockingIo>(data, dir);
    if (backend == "pool") return run_on<zsync::ThreadPoolIo>(data, dir);
    if (backend == "green") return run_on<zsync::GreenThreadsIo>(data, dir);
    std::fprintf(stderr, "save_data: unknown backend '%s'\n", backend.c_str());
    usage();
    return 2;
}
