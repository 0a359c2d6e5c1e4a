// The http_server sample's request parser (samples/http_server/http_parse.hpp), alone: heads, malformed
// and oversized requests, keep-alive rules, percent-decoding, path resolution (traversal refused).
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "http_parse.hpp"

using namespace http;

namespace {

Request ok(std::string_view head) {
    auto r = parse_request(head);
    if (auto* rej = std::get_if<Reject>(&r)) FAIL("rejected " << rej->status << ": " << rej->reason << " for: " << head);
    return std::get<Request>(r);
}

int status_of(std::string_view head) {
    auto r = parse_request(head);
    if (auto* rej = std::get_if<Reject>(&r)) return rej->status;
    return 0;
}

}  // namespace

TEST_CASE("find_head_end measures the head through its empty line", "[samples][http]") {
    CHECK(find_head_end("") == 0);
    CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
    CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r") == 0);
    std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(find_head_end(head) == head.size());
    CHECK(find_head_end(head + "GET /next HTTP/1.1\r\n") == head.size());  // pipelined bytes stay
    std::string_view bare_lf = "GET / HTTP/1.1\nHost: a\n\n";
    CHECK(find_head_end(bare_lf) == bare_lf.size());
}

TEST_CASE("a GET request parses into its parts", "[samples][http]") {
    Request r = ok("GET /dir/file.txt?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent:  t/1 \r\nAccept: */*\r\n\r\n");
    CHECK(r.method == "GET");
    CHECK(r.target == "/dir/file.txt?x=1");
    CHECK(r.version_minor == 1);
    CHECK(r.keep_alive);
    CHECK_FALSE(r.has_body);
    REQUIRE(r.fields.size() == 3);
    CHECK(r.field("user-agent") == std::optional<std::string_view>("t/1"));  // trimmed, case-insensitive
    CHECK_FALSE(r.field("cookie"));
    // One empty line before the request line is ignored (RFC 9112 §2.2).
    CHECK(ok("\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n").method == "HEAD");
}

TEST_CASE("keep-alive follows the version and Connection", "[samples][http]") {
    CHECK(ok("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
    CHECK_FALSE(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
    CHECK_FALSE(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").keep_alive);
    CHECK_FALSE(ok("GET / HTTP/1.0\r\n\r\n").keep_alive);  // HTTP/1.0 needs no Host
    CHECK(ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    CHECK_FALSE(ok("GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n").keep_alive);
    CHECK(ok("GET / HTTP/1.9\r\nHost: a\r\n\r\n").version_minor == 1);  // a later 1.x is answered as 1.1
}

TEST_CASE("bodies are noticed", "[samples][http]") {
    CHECK_FALSE(ok("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").has_body);
    CHECK(ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n").has_body);
    CHECK(ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").has_body);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n") == 400);
    CHECK(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
}

TEST_CASE("malformed request lines are 400", "[samples][http]") {
    for (const char* head : {
             "\r\n\r\n",
             "GET\r\nHost: a\r\n\r\n",
             "GET /\r\nHost: a\r\n\r\n",
             "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",      // two spaces
             "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",      // trailing space
             "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",       // not a token
             "GET / HTTP/1\r\nHost: a\r\n\r\n",
             "GET / http/1.1\r\nHost: a\r\n\r\n",
             "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
             "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",  // control character in the target
         }) {
        INFO(head);
        CHECK(status_of(head) == 400);
    }
    CHECK(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
    CHECK(status_of("GET / HTTP/0.9\r\nHost: a\r\n\r\n") == 505);
}

TEST_CASE("malformed header fields are 400", "[samples][http]") {
    for (const char* head : {
             "GET / HTTP/1.1\r\nHost a\r\n\r\n",                  // no colon
             "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                // space before the colon
             "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",          // empty name
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",  // obsolete folding
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n",    // control character
             "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n",     // bare CR
             "GET / HTTP/1.1\r\n\r\n",                            // HTTP/1.1 without Host
             "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",       // two Hosts
             "GET / HTTP/1.1\r\nHost: a\r\n",                     // no empty line
         }) {
        INFO(head);
        CHECK(status_of(head) == 400);
    }
}

TEST_CASE("oversized requests are 414 or 431", "[samples][http]") {
    std::string long_target = "GET /" + std::string(limits::max_target, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(status_of(long_target) == 414);
    std::string at_limit = "GET /" + std::string(limits::max_target - 1, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(status_of(at_limit) == 0);

    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (std::size_t i = 0; i < limits::max_fields; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(status_of(many + "\r\n") == 431);

    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(limits::max_head, 'b') + "\r\n\r\n";
    CHECK(status_of(big) == 431);
    // What the server answers when max_head bytes came without the end of the head:
    CHECK(reject_oversized("GET /" + std::string(limits::max_head, 'a')).status == 414);
    CHECK(reject_oversized("GET / HTTP/1.1\r\nX: " + std::string(limits::max_head, 'a')).status == 431);
}

TEST_CASE("percent_decode", "[samples][http]") {
    CHECK(percent_decode("") == std::optional<std::string>(""));
    CHECK(percent_decode("a%20b") == std::optional<std::string>("a b"));
    CHECK(percent_decode("%2e%2E%2f") == std::optional<std::string>("../"));
    CHECK(percent_decode("%41%6a") == std::optional<std::string>("Aj"));
    CHECK(percent_decode("100%") == std::nullopt);
    CHECK(percent_decode("%4") == std::nullopt);
    CHECK(percent_decode("%g0") == std::nullopt);
    CHECK(percent_decode("a%00b") == std::nullopt);  // NUL never reaches a path
    CHECK(percent_decode("%%41") == std::nullopt);
}

TEST_CASE("resolve_path keeps targets under the root", "[samples][http]") {
    using P = std::optional<std::string>;
    CHECK(resolve_path("/") == P(""));
    CHECK(resolve_path("/a.txt") == P("a.txt"));
    CHECK(resolve_path("/dir//sub/./f.html?q=/../x#frag") == P("dir/sub/f.html"));
    CHECK(resolve_path("/a%20b.txt") == P("a b.txt"));
    CHECK(resolve_path("/etc/passwd") == P("etc/passwd"));  // absolute paths stay relative to the root
    CHECK(resolve_path("/..a/b..") == P("..a/b.."));         // only whole ".." segments are special
    // absolute-form (RFC 9112 §3.2.2)
    CHECK(resolve_path("http://host/index.html") == P("index.html"));
    CHECK(resolve_path("HTTP://host:8080/dir/f.html?q=1") == P("dir/f.html"));
    CHECK(resolve_path("https://host") == P(""));
    CHECK(resolve_path("http://host?q=/x") == P(""));
    CHECK(resolve_path("http://[::1]:80/a%20b.txt") == P("a b.txt"));
    for (const char* bad : {
             "", "a.txt", "*", "ftp://host/a.txt", "http:/a.txt",       // neither origin- nor absolute-form
             "http:///a.txt", "http://user@host/a.txt",                  // empty authority, userinfo
             "http://host/../etc/passwd", "http://host/%2e%2e/x",       // ".." after the authority
             "/..", "/../etc/passwd", "/a/../../etc/passwd", "/a/..",     // ".." segments
             "/%2e%2e/etc/passwd", "/%2E%2e/x", "/.%2e/x", "/a/%2e%2e",  // encoded ".."
             "/%2e%2e%2fetc%2fpasswd", "/a%2f..%2f..%2fb",              // encoded slashes around ".."
             "/a\\..\\b", "/%5c..%5cb",                                 // backslashes
             "/a%00b", "/a%zz", "/a%",                                  // bad escapes
         }) {
        INFO(bad);
        CHECK(resolve_path(bad) == std::nullopt);
    }
}

TEST_CASE("content types by extension", "[samples][http]") {
    CHECK(content_type("index.html") == "text/html; charset=utf-8");
    CHECK(content_type("dir/A.TXT") == "text/plain; charset=utf-8");
    CHECK(content_type("x.json") == "application/json");
    CHECK(content_type("p.png") == "image/png");
    CHECK(content_type("noext") == "application/octet-stream");
    CHECK(content_type(".html") == "application/octet-stream");  // a dot file, no extension
    CHECK(content_type("d.html/file") == "application/octet-stream");
}

TEST_CASE("response_head", "[samples][http]") {
    CHECK(response_head(404, "text/plain", 10, false) ==
          "HTTP/1.1 404 Not Found\r\nServer: zsync-http_server\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
          "Connection: close\r\n\r\n");
    CHECK(response_head(200, "a/b", 0, true, "Allow: GET\r\n") ==
          "HTTP/1.1 200 OK\r\nServer: zsync-http_server\r\nContent-Type: a/b\r\nContent-Length: 0\r\n"
          "Connection: keep-alive\r\nAllow: GET\r\n\r\n");
}
