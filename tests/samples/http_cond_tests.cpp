// The http_server sample's conditional and range requests (samples/http_server/http_cond.hpp), alone:
// HTTP dates in their three forms, If-Modified-Since, Range and If-Range, malformed fields ignored.
#include <catch2/catch.hpp>

#include <string>

#include "http_cond.hpp"

using namespace http;

TEST_CASE("http_date prints IMF-fixdate", "[samples][http]") {
    CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(http_date(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
    CHECK(http_date(-5) == "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_CASE("parse_http_date reads the three forms", "[samples][http]") {
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
    CHECK(parse_http_date("Sun Nov 16 08:49:37 1994") == 784111777 + 10 * 86400);
    CHECK(parse_http_date("Tuesday, 01-Jan-08 00:00:00 GMT") == 1199145600);  // two-digit year: 2008
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
    for (std::int64_t t : {0LL, 1LL, 59LL, 86399LL, 784111777LL, 1700000000LL, 4102444799LL})
        CHECK(parse_http_date(http_date(t)) == t);
}

TEST_CASE("parse_http_date rejects malformed dates", "[samples][http]") {
    for (std::string_view bad : std::initializer_list<std::string_view>{
             "", "garbage", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT ",
             " Sun, 06 Nov 1994 08:49:37 GMT", "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
             "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Jan 1994 08:49:37 GMT",
             "Sun, 29 Feb 1900 00:00:00 GMT", "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
             "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
             "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
             "Sun, 06 Nov +994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
             "Sun Nov  6 08:49:37 94", std::string_view("Sun, 06 Nov 1994 08:49:37 GMT\0", 30),
         }) {
        INFO(bad);
        CHECK(parse_http_date(bad) == std::nullopt);
    }
}

TEST_CASE("If-Modified-Since decides 304", "[samples][http]") {
    const std::int64_t mtime = 784111777;
    CHECK(not_modified("Sun, 06 Nov 1994 08:49:37 GMT", std::nullopt, mtime));       // equal
    CHECK(not_modified("Mon, 07 Nov 1994 08:49:37 GMT", std::nullopt, mtime));       // later
    CHECK_FALSE(not_modified("Sun, 06 Nov 1994 08:49:36 GMT", std::nullopt, mtime)); // older: changed since
    CHECK_FALSE(not_modified(std::nullopt, std::nullopt, mtime));
    CHECK_FALSE(not_modified("not a date", std::nullopt, mtime));                    // invalid: ignored
    CHECK_FALSE(not_modified("Mon, 07 Nov 1994 08:49:37 GMT", "\"x\"", mtime));      // If-None-Match wins
}

TEST_CASE("Range: one satisfiable range", "[samples][http]") {
    auto r = [](std::string_view v, std::uint64_t size) { return parse_range(v, size); };
    auto is = [](ByteRange b, std::uint64_t f, std::uint64_t l) {
        return b.kind == RangeKind::satisfiable && b.first == f && b.last == l;
    };
    CHECK(is(r("bytes=0-0", 100), 0, 0));
    CHECK(is(r("bytes=0-99", 100), 0, 99));
    CHECK(is(r("bytes=10-19", 100), 10, 19));
    CHECK(is(r("bytes=10-1000", 100), 10, 99));  // last clamped
    CHECK(is(r("bytes=90-", 100), 90, 99));
    CHECK(is(r("bytes=-10", 100), 90, 99));
    CHECK(is(r("bytes=-100", 100), 0, 99));
    CHECK(is(r("bytes=-1000", 100), 0, 99));      // suffix longer than the file: all of it
    CHECK(is(r("BYTES=1-2", 100), 1, 2));         // the unit is case-insensitive
    CHECK(is(r("bytes=99-99", 100), 99, 99));
}

TEST_CASE("Range: unsatisfiable is 416", "[samples][http]") {
    for (auto [v, size] : std::initializer_list<std::pair<std::string_view, std::uint64_t>>{
             {"bytes=100-", 100}, {"bytes=100-200", 100}, {"bytes=1000-2000", 100}, {"bytes=-0", 100},
             {"bytes=0-", 0}, {"bytes=-5", 0}, {"bytes=0-0", 0}}) {
        INFO(v << " of " << size);
        CHECK(parse_range(v, size).kind == RangeKind::unsatisfiable);
    }
}

TEST_CASE("Range: malformed or multiple ranges are ignored", "[samples][http]") {
    for (std::string_view v : {
             "", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=5-3", "bytes=1-2,4-5", "bytes=0-0,-1",
             "items=0-1", "bytes =0-1", "bytes= 0-1", "bytes=0 -1", "bytes=0- 1", "bytes=0-1 ", "bytes=+1-2",
             "bytes=1--2", "bytes=--2", "bytes=0x1-2", "bytes=99999999999999999999-", "bytes=-99999999999999999999",
             "bytesX0-1",
         }) {
        INFO(v);
        CHECK(parse_range(v, 100).kind == RangeKind::ignore);
    }
}

TEST_CASE("If-Range allows the range only for the same Last-Modified", "[samples][http]") {
    const std::string lm = http_date(784111777);
    CHECK(if_range_allows(std::nullopt, lm));
    CHECK(if_range_allows(lm, lm));
    CHECK_FALSE(if_range_allows("Mon, 07 Nov 1994 08:49:37 GMT", lm));
    CHECK_FALSE(if_range_allows("\"etag\"", lm));
}
