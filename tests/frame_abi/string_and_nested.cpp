// Frames 2 and 3 of the hand-written ABI proof (issue 5 part 1; frame 1, a loop around a sleep, is in
// frame_abi_tests.cpp): a std::string local alive across two reads, and a caller that embeds its
// callee's frame in place, reusing the same storage for two calls. Each is written the way zsync-gen
// will write it, driven by drive_frame (the seed's runStacklessAsync loop) over BlockingIo, and
// compared with the plain function under a failure and a cancellation at every operation, and
// destroyed while suspended at every suspension point.
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>
#include "leak_check.hpp"
import zsync;
import zsync.testing;

namespace {

using Str = zsync::Result<std::string>;
// Longer than the small-string buffer: the string owns heap memory, so a missed or doubled destructor
// shows in the allocation count (or as a double free under ASan).
constexpr const char* prefix = "<frame-owned string longer than SSO:";

// ---- Frame 2: a std::string alive across two reads ----------------------------------------------

Str read_two(zsync::Io io, zsync::File f) {
    std::string acc = prefix;
    std::byte buf[8];
    auto n1 = f.read(io, buf);
    if (!n1) return n1.error();
    acc.append(reinterpret_cast<const char*>(buf), *n1);
    auto n2 = f.read(io, buf);
    if (!n2) return n2.error();
    acc.append(reinterpret_cast<const char*>(buf), *n2);
    acc += '>';
    return acc;
}

struct ReadTwoFrame {
    using Args = zsync::TaskArgs<decltype(&read_two), zsync::Io, zsync::File>;
    int state = 0;  // 0: not started; 1, 2: waiting on read 1, 2 (acc alive); 3: finished
    zsync::Io io;
    zsync::File f;
    alignas(std::string) std::byte acc_[sizeof(std::string)];
    std::byte buf[8];
    zsync::Operation op;
    alignas(Str) std::byte result_[sizeof(Str)];
    bool has_result = false;

    std::string& acc() { return *std::launder(reinterpret_cast<std::string*>(acc_)); }
    zsync::Operation* finish(Str r) {
        std::destroy_at(&acc());
        ::new (result_) Str(std::move(r));
        has_result = true;
        state = 3;
        return nullptr;
    }
    static void init(void* mem, void* args) noexcept {
        auto* a = static_cast<Args*>(args);
        auto* fr = ::new (mem) ReadTwoFrame;
        fr->io = std::get<0>(a->args);
        fr->f = std::get<1>(a->args);
        std::destroy_at(a);
    }
    static zsync::Operation* resume(void* mem) noexcept {
        auto* fr = static_cast<ReadTwoFrame*>(mem);
        switch (fr->state) {
        case 0:
            ::new (fr->acc_) std::string(prefix);
            fr->op = zsync::Operation::read(fr->f.handle, fr->buf);
            fr->state = 1;
            return &fr->op;
        case 1:
            if (!fr->op.result) return fr->finish(fr->op.result.error());
            fr->acc().append(reinterpret_cast<const char*>(fr->buf), *fr->op.result);
            fr->op = zsync::Operation::read(fr->f.handle, fr->buf);
            fr->state = 2;
            return &fr->op;
        case 2: {
            if (!fr->op.result) return fr->finish(fr->op.result.error());
            fr->acc().append(reinterpret_cast<const char*>(fr->buf), *fr->op.result);
            fr->acc() += '>';
            std::string out = std::move(fr->acc());
            return fr->finish(std::move(out));
        }
        }
        return nullptr;
    }
    static void take_result(void* mem, void* out) noexcept {
        auto* fr = static_cast<ReadTwoFrame*>(mem);
        auto* r = std::launder(reinterpret_cast<Str*>(fr->result_));
        ::new (out) Str(std::move(*r));
        std::destroy_at(r);
        fr->has_result = false;
    }
    static void destroy(void* mem) noexcept {
        auto* fr = static_cast<ReadTwoFrame*>(mem);
        if (fr->state == 1 || fr->state == 2) std::destroy_at(&fr->acc());
        if (fr->has_result) std::destroy_at(std::launder(reinterpret_cast<Str*>(fr->result_)));
        std::destroy_at(fr);
    }
};

constexpr zsync::FrameDescriptor read_two_frame{
    zsync::frame_abi_version, sizeof(ReadTwoFrame), alignof(ReadTwoFrame), 0,
    sizeof(ReadTwoFrame::Args), alignof(ReadTwoFrame::Args), zsync::type_signature<ReadTwoFrame::Args>(),
    &ReadTwoFrame::init, &ReadTwoFrame::resume, &ReadTwoFrame::take_result, &ReadTwoFrame::destroy, "read_two",
};

// ---- Frame 3: a caller with its callee's frame embedded in place --------------------------------

Str read_both(zsync::Io io, zsync::File a, zsync::File b) {
    auto x = read_two(io, a);
    if (!x) return x.error();
    auto y = read_two(io, b);
    if (!y) return y.error();
    return *x + *y;
}

struct ReadBothFrame {
    using Args = zsync::TaskArgs<decltype(&read_both), zsync::Io, zsync::File, zsync::File>;
    int state = 0;  // 1: in the first call; 2: in the second (x alive); 3: finished
    zsync::Io io;
    zsync::File a, b;
    alignas(Str) std::byte x_[sizeof(Str)];
    // One callee frame, in place: the two calls' lifetimes do not overlap, so they share the storage.
    alignas(ReadTwoFrame) std::byte callee_[sizeof(ReadTwoFrame)];
    alignas(Str) std::byte result_[sizeof(Str)];
    bool has_result = false;

    Str& x() { return *std::launder(reinterpret_cast<Str*>(x_)); }
    void start_callee(zsync::File f) {
        ReadTwoFrame::Args args{&read_two, {io, f}};
        ReadTwoFrame::init(callee_, &args);  // direct call: the definition is visible (frame-abi.md §3.6)
    }
    Str finish_callee() {
        alignas(Str) std::byte out[sizeof(Str)];
        ReadTwoFrame::take_result(callee_, out);
        ReadTwoFrame::destroy(callee_);
        Str* p = std::launder(reinterpret_cast<Str*>(out));
        Str r(std::move(*p));
        std::destroy_at(p);
        return r;
    }
    zsync::Operation* finish(Str r) {
        if (state == 2) std::destroy_at(&x());
        ::new (result_) Str(std::move(r));
        has_result = true;
        state = 3;
        return nullptr;
    }
    static void init(void* mem, void* args) noexcept {
        auto* a = static_cast<Args*>(args);
        auto* fr = ::new (mem) ReadBothFrame;
        fr->io = std::get<0>(a->args);
        fr->a = std::get<1>(a->args);
        fr->b = std::get<2>(a->args);
        std::destroy_at(a);
    }
    static zsync::Operation* resume(void* mem) noexcept {
        auto* fr = static_cast<ReadBothFrame*>(mem);
        switch (fr->state) {
        case 0:
            fr->start_callee(fr->a);
            fr->state = 1;
            [[fallthrough]];
        case 1: {
            if (zsync::Operation* op = ReadTwoFrame::resume(fr->callee_)) return op;  // the callee's wait is ours
            ::new (fr->x_) Str(fr->finish_callee());
            if (!fr->x()) {
                zsync::Error e = fr->x().error();
                std::destroy_at(&fr->x());
                return fr->finish(e);
            }
            fr->start_callee(fr->b);
            fr->state = 2;
            [[fallthrough]];
        }
        case 2: {
            if (zsync::Operation* op = ReadTwoFrame::resume(fr->callee_)) return op;
            Str y = fr->finish_callee();
            if (!y) return fr->finish(y.error());
            return fr->finish(*fr->x() + *y);
        }
        }
        return nullptr;
    }
    static void take_result(void* mem, void* out) noexcept {
        auto* fr = static_cast<ReadBothFrame*>(mem);
        auto* r = std::launder(reinterpret_cast<Str*>(fr->result_));
        ::new (out) Str(std::move(*r));
        std::destroy_at(r);
        fr->has_result = false;
    }
    static void destroy(void* mem) noexcept {
        auto* fr = static_cast<ReadBothFrame*>(mem);
        if (fr->state == 1 || fr->state == 2) ReadTwoFrame::destroy(fr->callee_);  // suspended inside it
        if (fr->state == 2) std::destroy_at(&fr->x());
        if (fr->has_result) std::destroy_at(std::launder(reinterpret_cast<Str*>(fr->result_)));
        std::destroy_at(fr);
    }
};

constexpr zsync::FrameDescriptor read_both_frame{
    zsync::frame_abi_version, sizeof(ReadBothFrame), alignof(ReadBothFrame), 0,
    sizeof(ReadBothFrame::Args), alignof(ReadBothFrame::Args), zsync::type_signature<ReadBothFrame::Args>(),
    &ReadBothFrame::init, &ReadBothFrame::resume, &ReadBothFrame::take_result, &ReadBothFrame::destroy, "read_both",
};

zsync::FrameRegistration read_two_reg{zsync::function_identity(&read_two), &read_two_frame};
zsync::FrameRegistration read_both_reg{zsync::function_identity(&read_both), &read_both_frame};
const bool registered = zsync::register_frame(read_two_reg) && zsync::register_frame(read_both_reg);

// ---- The harness --------------------------------------------------------------------------------

// A fresh descriptor on a file holding `text`, at offset 0 (the functions read sequentially).
struct TempFile {
    std::string path;
    explicit TempFile(const char* text) {
        char tmpl[] = "/tmp/zsync-frame-abi-XXXXXX";
        int fd = ::mkstemp(tmpl);
        path = tmpl;
        (void)!::write(fd, text, std::strlen(text));
        ::close(fd);
    }
    ~TempFile() { ::unlink(path.c_str()); }
    zsync::File open() const { return zsync::File{::open(path.c_str(), O_RDONLY | O_CLOEXEC)}; }
};

// Drives a frame through the registry, as a stackless executor does.
template <class Args>
Str run_frame(zsync::Io io, const void* function, Args args) {
    const zsync::FrameDescriptor* d = zsync::find_frame(function);
    if (!d) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run);
    std::vector<std::byte> memory(d->size + d->align);
    void* mem = memory.data() + (d->align - reinterpret_cast<std::uintptr_t>(memory.data()) % d->align) % d->align;
    alignas(Str) std::byte out[sizeof(Str)];
    zsync::drive_frame(io, *d, mem, &args, out);
    Str* p = std::launder(reinterpret_cast<Str*>(out));
    Str r(std::move(*p));
    std::destroy_at(p);
    return r;
}

struct Outcome {
    bool ok;
    std::string value;
    zsync::Error error;
    std::vector<zsync::testing::TraceEntry> trace;
};

bool same(const Str& a, const Str& b) {
    if (a.has_value() != b.has_value()) return false;
    return a ? *a == *b : a.error() == b.error();
}

}  // namespace

TEST_CASE("frame abi: a string alive across two reads, frame vs plain, every fault", "[frame_abi]") {
    REQUIRE(registered);
    TempFile file("ABCDEFGHIJKLMNOP");
    zsync::BlockingIo rt;
    const std::string expected = std::string(prefix) + "ABCDEFGHIJKLMNOP>";
    {
        zsync::File f1 = file.open(), f2 = file.open();
        auto plain = read_two(rt.io(), f1);
        auto frame = run_frame(rt.io(), zsync::function_identity(&read_two), ReadTwoFrame::Args{&read_two, {rt.io(), f2}});
        REQUIRE(plain);
        REQUIRE(frame);
        CHECK(*plain == expected);
        CHECK(*frame == expected);
        ::close(f1.handle);
        ::close(f2.handle);
    }
    for (std::uint64_t k = 1; k <= 2; ++k) {
        for (bool cancel : {false, true}) {
            INFO("k=" << k << " cancel=" << cancel);
            zsync::File f1 = file.open(), f2 = file.open();
            zsync::testing::FaultIo fp(rt.io()), ff(rt.io());
            if (cancel) { fp.cancel_at(k); ff.cancel_at(k); }
            else { fp.fail_at(k, zsync::Errc::system, 5); ff.fail_at(k, zsync::Errc::system, 5); }
            auto plain = read_two(fp.io(), f1);
            auto frame = run_frame(ff.io(), zsync::function_identity(&read_two), ReadTwoFrame::Args{&read_two, {ff.io(), f2}});
            const bool agree = same(plain, frame);
            const bool fired = fp.fired() && ff.fired();
            auto tp = fp.trace(), tf = ff.trace();
            ::close(f1.handle);
            ::close(f2.handle);
            CHECK(agree);
            CHECK(fired);
            CHECK_FALSE(plain.has_value());
            CHECK(tp == tf);
            CHECK(tp.size() == k);
        }
    }
}

TEST_CASE("frame abi: a caller embedding its callee's frame, frame vs plain, every fault", "[frame_abi]") {
    REQUIRE(registered);
    TempFile fa("0123456789abcdef"), fb("ghijklmnopqrstuv");
    zsync::BlockingIo rt;
    // The embedded callee frame is reused for both calls: the caller is smaller than two callees.
    STATIC_REQUIRE(sizeof(ReadBothFrame) < 2 * sizeof(ReadTwoFrame) + sizeof(Str) + 128);
    std::uint64_t total_ops = 0;
    {
        zsync::File a1 = fa.open(), b1 = fb.open(), a2 = fa.open(), b2 = fb.open();
        zsync::testing::FaultIo count(rt.io());
        auto plain = read_both(count.io(), a1, b1);
        total_ops = count.operations();
        auto frame = run_frame(rt.io(), zsync::function_identity(&read_both), ReadBothFrame::Args{&read_both, {rt.io(), a2, b2}});
        for (auto f : {a1, b1, a2, b2}) ::close(f.handle);
        REQUIRE(plain);
        REQUIRE(frame);
        CHECK(*plain == *frame);
        CHECK(*plain == std::string(prefix) + "0123456789abcdef>" + prefix + "ghijklmnopqrstuv>");
    }
    REQUIRE(total_ops == 4);
    for (std::uint64_t k = 1; k <= total_ops; ++k) {
        for (bool cancel : {false, true}) {
            INFO("k=" << k << " cancel=" << cancel);
            zsync::File a1 = fa.open(), b1 = fb.open(), a2 = fa.open(), b2 = fb.open();
            zsync::testing::FaultIo fp(rt.io()), ff(rt.io());
            if (cancel) { fp.cancel_at(k); ff.cancel_at(k); }
            else { fp.fail_at(k, zsync::Errc::system, 5); ff.fail_at(k, zsync::Errc::system, 5); }
            auto plain = read_both(fp.io(), a1, b1);
            auto frame = run_frame(ff.io(), zsync::function_identity(&read_both), ReadBothFrame::Args{&read_both, {ff.io(), a2, b2}});
            const bool agree = same(plain, frame);
            auto tp = fp.trace(), tf = ff.trace();
            for (auto f : {a1, b1, a2, b2}) ::close(f.handle);
            CHECK(agree);
            CHECK_FALSE(plain.has_value());
            CHECK(tp == tf);
            CHECK(tp.size() == k);
        }
    }
}

TEST_CASE("frame abi: destroying a suspended frame at every suspension point releases everything once", "[frame_abi]") {
    REQUIRE(registered);
    TempFile fa("0123456789abcdef"), fb("ghijklmnopqrstuv");
    zsync::BlockingIo rt;
    { auto warm = rt.io().yield(); (void)warm; }
    for (int stop_after = 1; stop_after <= 4; ++stop_after) {
        zsync::File a = fa.open(), b = fb.open();
        auto before = zsync::test::usage_now();
        int waits = 0;
        bool op_was_read = true;
        {
            alignas(ReadBothFrame) std::byte mem[sizeof(ReadBothFrame)];
            ReadBothFrame::Args args{&read_both, {rt.io(), a, b}};
            read_both_frame.init(mem, &args);
            // Perform the first stop_after - 1 waits, then destroy while waiting on the next one.
            while (zsync::Operation* op = read_both_frame.resume(mem)) {
                op_was_read = op_was_read && op->code == zsync::Op::read;
                if (++waits == stop_after) break;
                rt.io().vtable->operate(rt.io().ctx, *op);
            }
            read_both_frame.destroy(mem);
        }
        auto after = zsync::test::usage_now();
        ::close(a.handle);
        ::close(b.handle);
        INFO("destroyed while waiting at suspension " << stop_after);
        CHECK(waits == stop_after);
        CHECK(op_was_read);
        CHECK(before == after);
    }
}
