// HTTP/1.x request parsing (and the response head) for the http_server sample: plain C++, no I/O (tests/samples tests it alone).
//
// The server reads bytes until find_head_end() finds the empty line that ends the head (at most
// limits::max_head bytes), then parse_request() checks the request line and header fields and returns
// either a Request or the status of the error response (400, 405 comes later from the server, 414, 431,
// 505). resolve_path() turns the target into a path relative to the served root, or refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace http {

namespace limits {
inline constexpr std::size_t max_head = 16 * 1024;    // request line + header fields + the empty line
inline constexpr std::size_t max_target = 8 * 1024;   // request target (414 past it)
inline constexpr std::size_t max_fields = 100;        // header fields (431 past it)
}  // namespace limits

struct Field {
    std::string_view name;   // as sent (compare with iequals)
    std::string_view value;  // leading and trailing whitespace removed
};

struct Request {
    std::string_view method;
    std::string_view target;  // as sent
    int version_minor = 1;    // HTTP/1.<minor>: 0 or 1
    std::vector<Field> fields;
    bool keep_alive = true;         // from the version and Connection fields
    bool has_body = false;          // Content-Length > 0 or Transfer-Encoding: the server does not read bodies
    std::optional<std::string_view> field(std::string_view name) const;
};

// The status of the response to a request that could not be parsed.
struct Reject {
    int status;          // 400, 414, 431 or 505
    std::string reason;  // for the log and the response body
};

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

// The length of the head (through the CRLF CRLF that ends it) at the start of `buffer`, or 0 when it
// is not complete yet. Bare LF line ends are accepted too (RFC 9112 §2.2).
std::size_t find_head_end(std::string_view buffer) noexcept;

// What to answer when `buffer` holds limits::max_head bytes or more without a complete head: 414 when
// the request line is still not complete (the target is what is long), else 431.
Reject reject_oversized(std::string_view buffer);

// Parses a complete head (as measured by find_head_end). The Request's views point into `head`.
std::variant<Request, Reject> parse_request(std::string_view head);

// Percent-decodes `text`: nullopt for a malformed escape or one that decodes to NUL.
std::optional<std::string> percent_decode(std::string_view text);

// The file a target names, relative to the served root ("" for the root itself), without a query or a
// fragment. Origin-form ("/path") or absolute-form ("http://host/path", RFC 9112 §3.2.2: a server
// must accept it; the authority is not used). nullopt when it must be refused: neither form, malformed or
// NUL escapes, a ".." segment (also when percent-encoded), or a backslash. "." and empty segments are
// dropped. The result never starts with '/' and never contains a ".." segment.
std::optional<std::string> resolve_path(std::string_view target);

// A Content-Type for a file name, by extension (application/octet-stream when unknown).
std::string_view content_type(std::string_view path) noexcept;

// "Not Found" etc. for the statuses the server sends.
std::string_view reason_phrase(int status) noexcept;

// A response head: "HTTP/1.1 <status> <reason>", Server, Content-Type, Content-Length, Connection
// (keep-alive or close), then `extra_fields` (each ending in CRLF) and the empty line.
std::string response_head(int status, std::string_view content_type, std::uint64_t content_length, bool keep_alive,
                          std::string_view extra_fields = {});

}  // namespace http
