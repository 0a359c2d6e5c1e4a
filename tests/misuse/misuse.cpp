// Misuses of the public start templates, one per MISUSE_<name> macro (tests/misuse/CMakeLists.txt
// builds each as its own target and requires the build to fail with the one message that names the
// mistake, in a few lines). Without a macro the file is the valid spelling of every call (the control).
#include <string>
import zsync;

using zsync::Io;

namespace {
int with_io(Io, int x) { return x; }
int without_io(int x) { return x; }
void takes_ref(Io, std::string& out) { out = "x"; }
}  // namespace

int main() {
    zsync::BlockingIo rt;
    Io io = rt.io();
    zsync::Group g;
    zsync::Select<int> sel(1);
    std::string s;
    (void)s;
#if defined(MISUSE_io_twice)
    auto f = io.async(with_io, io, 1);           // the pre-rule spelling
#elif defined(MISUSE_group_io_twice)
    (void)g.async(io, with_io, io, 1);
#elif defined(MISUSE_no_io_parameter)
    auto f = io.async(without_io, 1);
#elif defined(MISUSE_arity)
    auto f = io.async(with_io);
#elif defined(MISUSE_mutable_ref)
    auto f = io.async(takes_ref, s);
#elif defined(MISUSE_convert)
    auto f = io.async(with_io, std::string("not an int"));
#elif defined(MISUSE_lambda)
    (void)sel.async(io, [](int x) { return x; }, 1);
#elif defined(MISUSE_run)
    (void)rt.run([](Io, std::string x) { return x.size(); }, 1, 2);
#elif defined(MISUSE_and_then_arg)
    (void)zsync::Result<int>(1).and_then([](std::string x) { return zsync::Result<int>(int(x.size())); });
#elif defined(MISUSE_and_then_plain)
    (void)zsync::Result<int>(1).and_then([](int x) { return x + 1; });
#elif defined(MISUSE_transform_arg)
    (void)zsync::Result<int>(1).transform([](std::string x) { return x.size(); });
#elif defined(MISUSE_void_and_then_arg)
    (void)zsync::Result<void>().and_then([](int x) { return zsync::Result<int>(x); });
#else
    auto f = io.async(with_io, 1);
    (void)f.await(io);
    (void)g.async(io, with_io, 2);
    (void)g.await(io);
    (void)sel.async(io, [](Io, int x) { return x; }, 3);  // concurrency_unavailable on BlockingIo: fine here
    (void)rt.run([](Io, std::string x) { return x.size(); }, std::string("abc"));
    (void)zsync::Result<int>(1).and_then([](int x) { return zsync::Result<int>(x + 1); });
    (void)zsync::Result<int>(1).transform([](int x) { return x * 2; });
    (void)zsync::Result<int>(1).transform([](int) {});
    (void)zsync::Result<void>().and_then([] { return zsync::Result<int>(1); });
#endif
    return 0;
}
