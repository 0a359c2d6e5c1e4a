// Result<T>: value or error, value_or, and_then / transform, move-only T, Result<void>.
#include <catch2/catch.hpp>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEST_CASE("Result: value, error, value_or, copy and move", "[result]") {
    bool ok = false;
    auto leak = measure<zsync::BlockingIo>([&] {
        Result<int> v = 5;
        Result<int> e = Error(Errc::timeout, Op::sleep);
        Result<std::string> s = std::string(40, 's');
        Result<std::string> s2 = s;               // copy
        Result<std::string> s3 = std::move(s2);   // move
        Result<std::string> es = Error::system(2, Op::open);
        s2 = es;                                  // copy-assign an error over a value
        ok = v.has_value() && *v == 5 && v.value() == 5 && bool(v) && !e && e.error() == Error(Errc::timeout, Op::sleep) &&
             v.value_or(7) == 5 && e.value_or(7) == 7 && s3 && s3->size() == 40 && !s2 && s2.error().is(std::errc::no_such_file_or_directory) &&
             es.value_or("fallback") == "fallback" && std::move(s3).value_or("x").size() == 40;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(ok);
}

TEST_CASE("Result: and_then and transform pass errors through untouched", "[result]") {
    int and_then_v = 0, transform_v = 0, calls = 0;
    Error passed{};
    bool void_chain = false, void_err = false, transform_void = false;
    auto leak = measure<zsync::BlockingIo>([&] {
        auto a = Result<int>(20).and_then([&](int x) -> Result<int> { ++calls; return x + 1; });
        and_then_v = a ? *a : -1;
        auto t = Result<int>(20).transform([&](int x) { ++calls; return x * 2; });
        transform_v = t ? *t : -1;
        auto err = Result<int>(Error(Errc::closed, Op::close)).and_then([&](int) -> Result<int> { ++calls; return 0; })
                       .transform([&](int) { ++calls; return std::string("never"); });
        passed = err ? Error{} : err.error();
        auto tv = Result<int>(1).transform([&](int) { ++calls; });
        transform_void = tv.has_value();
        Result<void> ok;
        void_chain = ok.and_then([&]() -> Result<int> { ++calls; return 3; }).value_or(0) == 3;
        Result<void> bad = Error(Errc::canceled, Op::check_cancel);
        void_err = !bad.and_then([&]() -> Result<int> { ++calls; return 3; }) && !bad && bad.error().canceled();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(and_then_v == 21);
    CHECK(transform_v == 40);
    CHECK(passed == Error(Errc::closed, Op::close));
    CHECK(transform_void);
    CHECK(void_chain);
    CHECK(void_err);
    CHECK(calls == 4);
}

TEST_CASE("Result: move-only values", "[result]") {
    int v = 0, chained = 0;
    bool moved_ok = false, err_ok = false;
    Counted::reset();
    auto leak = measure<zsync::BlockingIo>([&] {
        Result<std::unique_ptr<int>> r = std::make_unique<int>(4);
        Result<std::unique_ptr<int>> m = std::move(r);
        moved_ok = m && *m && **m == 4;
        v = **m;
        auto c = std::move(m).transform([](std::unique_ptr<int> p) { return *p * 10; });
        chained = c ? *c : 0;
        Result<std::unique_ptr<int>> e = Error(Errc::end_of_stream, Op::read);
        auto fb = std::move(e).value_or(std::make_unique<int>(1));
        err_ok = fb && *fb == 1;
        Result<Counted> rc = Counted(3);
        rc = Result<Counted>(Error(Errc::closed, Op::close));  // destroys the held value
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(moved_ok);
    CHECK(v == 4);
    CHECK(chained == 40);
    CHECK(err_ok);
    CHECK(Counted::live() == 0);
}
