// IpAddress and UnixAddress: parsing (good and bad input) and formatting. OS-independent code.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;

namespace {
std::string round_trip(std::string_view text) {
    auto a = IpAddress::parse(text);
    if (!a) return "error: " + a.error().message();
    return a->to_string();
}
}  // namespace

TEST_CASE("IpAddress parses and formats IPv4", "[net][address]") {
    auto a = IpAddress::parse("127.0.0.1:8080");
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(a->port() == 8080);
    CHECK(a->is_loopback());
    CHECK(*a == IpAddress::v4_loopback(8080));
    CHECK(a->to_string() == "127.0.0.1:8080");
    CHECK(a->host_string() == "127.0.0.1");
    CHECK(round_trip("0.0.0.0:0") == "0.0.0.0:0");
    CHECK(round_trip("255.255.255.255:65535") == "255.255.255.255:65535");
    CHECK(round_trip("10.1.2.3:1") == "10.1.2.3:1");
    CHECK(IpAddress::parse("0.0.0.0:0")->is_unspecified());
    auto h = IpAddress::parse("192.168.0.1", 53);
    REQUIRE(h);
    CHECK(h->to_string() == "192.168.0.1:53");
    CHECK(h->with_port(54).port() == 54);
    std::uint8_t expect[4] = {192, 168, 0, 1};
    REQUIRE(h->bytes().size() == 4);
    CHECK(std::memcmp(h->bytes().data(), expect, 4) == 0);
}

TEST_CASE("IpAddress parses and formats IPv6 (RFC 5952 output)", "[net][address]") {
    auto a = IpAddress::parse("[::1]:8080");
    REQUIRE(a);
    CHECK(a->is_v6());
    CHECK(a->is_loopback());
    CHECK(*a == IpAddress::v6_loopback(8080));
    CHECK(a->to_string() == "[::1]:8080");
    CHECK(round_trip("[::]:0") == "[::]:0");
    CHECK(round_trip("[2001:DB8:0:0:0:0:0:1]:443") == "[2001:db8::1]:443");
    CHECK(round_trip("[2001:db8:0:0:1:0:0:1]:1") == "[2001:db8::1:0:0:1]:1");      // the first of two equal runs
    CHECK(round_trip("[2001:db8:0:1:1:1:1:1]:1") == "[2001:db8:0:1:1:1:1:1]:1");  // a single zero group stays
    CHECK(round_trip("[1:0:0:2:0:0:0:3]:1") == "[1:0:0:2::3]:1");                 // the longest run
    CHECK(round_trip("[fe80::1%3]:22") == "[fe80::1%3]:22");
    CHECK(IpAddress::parse("[fe80::1%3]:22")->scope_id() == 3);
    CHECK(round_trip("[::ffff:10.0.0.1]:80") == "[::ffff:10.0.0.1]:80");
    CHECK(round_trip("[1::]:5") == "[1::]:5");
    CHECK(round_trip("[1:2:3:4:5:6:7:8]:5") == "[1:2:3:4:5:6:7:8]:5");
    CHECK(round_trip("[0:0:0:0:0:0:0:0]:5") == "[::]:5");
    auto h = IpAddress::parse("::1", 7);
    REQUIRE(h);
    CHECK(h->to_string() == "[::1]:7");
    CHECK(h->host_string() == "::1");
    CHECK(h->bytes().size() == 16);
}

TEST_CASE("IpAddress rejects bad text with invalid_argument naming parse_address", "[net][address]") {
    const char* bad[] = {
        "", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8o",
        "127.0.0.1:123456", "256.0.0.1:80", "1.2.3:80", "1.2.3.4.5:80", "01.2.3.4:80", "1..3.4:80",
        "a.b.c.d:80", "::1:80", "[::1]", "[::1]80", "[::1:80", "[1.2.3.4]:80", "[:::1]:80",
        "[1:2:3:4:5:6:7:8:9]:80", "[1::2::3]:80", "[12345::]:80", "[1:2:3:4:5:6:7]:80", "[g::]:80",
        "[::1%]:80", "[::1%eth0]:80", "[1:]:80", "localhost:80", " 1.2.3.4:80", "1.2.3.4:80 ",
    };
    for (const char* text : bad) {
        INFO("text '" << text << "'");
        auto r = IpAddress::parse(text);
        REQUIRE_FALSE(r);
        CHECK(r.error().code() == Errc::invalid_argument);
        CHECK(r.error().op() == Op::parse_address);
        CHECK(r.error().message() == "parse_address: invalid argument");
    }
    CHECK_FALSE(IpAddress::parse("1.2.3.4:80", 80));  // host form takes no port
    CHECK_FALSE(IpAddress::parse("", 80));
}

TEST_CASE("UnixAddress: paths, abstract names, and bad input", "[net][address]") {
    auto a = UnixAddress::make("/tmp/x.sock");
    REQUIRE(a);
    CHECK(a->path() == "/tmp/x.sock");
    SocketAddress s = a->to_socket_address();
    CHECK(s.family == AddressFamily::unix_path);
    CHECK(s.path_len == 11);
    CHECK(UnixAddress::from_socket_address(s) == *a);
    CHECK(UnixAddress::make(std::string_view("\0abstract", 9)));
    std::string longest(SocketAddress::max_path, 'x');
    CHECK(UnixAddress::make(longest));
    auto too_long = UnixAddress::make(longest + "x");
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error() == Error(Errc::name_too_long, Op::parse_address));
    auto empty = UnixAddress::make("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error() == Error(Errc::invalid_argument, Op::parse_address));
    auto nul = UnixAddress::make(std::string_view("/tmp/a\0b", 8));
    REQUIRE_FALSE(nul);
    CHECK(nul.error() == Error(Errc::invalid_argument, Op::parse_address));
}

TEST_CASE("Operation stays small with the networking arguments", "[net][address]") {
    STATIC_REQUIRE(sizeof(Operation) <= 64);
    STATIC_REQUIRE(std::is_trivially_copyable_v<IpAddress>);
    CHECK(op_name(Op::lookup) == "lookup");
    CHECK(op_name(Op::socketpair) == "socketpair");
    CHECK(op_name(Op::parse_address) == "parse_address");
    CHECK(errc_name(Errc::name_not_found) == "name not found");
}
