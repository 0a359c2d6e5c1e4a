// Conditional and range requests for the http_server sample (RFC 9110 §13 and §14): HTTP dates
// (Last-Modified, If-Modified-Since, If-Range) and the Range field. Plain C++, no I/O, tested alone in
// tests/samples. Every parser here answers malformed input with "ignore the field" (nullopt or
// RangeKind::ignore), as RFC 9110 requires of If-Modified-Since and permits for Range: a malformed
// field never makes the server fail the request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace http {

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 §5.6.7) for seconds since the Unix
// epoch (negative times give the epoch).
std::string http_date(std::int64_t unix_seconds);

// Seconds since the Unix epoch for an HTTP-date in any of the three forms a recipient must accept
// (IMF-fixdate, obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994"),
// or nullopt when it is none of them (a bad day or month name, a field out of range, trailing bytes,
// a list). The weekday name is checked for form only, not against the date.
std::optional<std::int64_t> parse_http_date(std::string_view text) noexcept;

// Whether a GET or HEAD with these fields may be answered 304 Not Modified for a file last modified at
// `mtime_s` (RFC 9110 §13.1.3, §13.2.2): If-Modified-Since holds a valid date not older than the
// file's modification time. Ignored (false) when If-None-Match is present (it takes precedence, and
// this server sends no entity tags, so it never matches) or the date is invalid.
bool not_modified(std::optional<std::string_view> if_modified_since, std::optional<std::string_view> if_none_match,
                  std::int64_t mtime_s) noexcept;

enum class RangeKind {
    ignore,         // no Range, not "bytes", malformed, or more than one range: answer 200 with the whole file
    satisfiable,    // answer 206 with bytes [first, last] and Content-Range: bytes first-last/size
    unsatisfiable,  // answer 416 with Content-Range: bytes */size
};
struct ByteRange {
    RangeKind kind = RangeKind::ignore;
    std::uint64_t first = 0, last = 0;  // inclusive; meaningful when satisfiable
};

// The Range field of a GET for a file of `size` bytes (RFC 9110 §14.1.2, §14.2). One range-spec:
// "bytes=first-last" (last clamped to size-1), "bytes=first-", "bytes=-suffix" (the last `suffix`
// bytes; the whole file when suffix >= size). A first at or past the end, or a suffix of 0, is
// unsatisfiable; so is any range of an empty file. A list of several ranges is ignored (the whole file,
// 200): RFC 9110 §14.2 lets a server ignore Range, and one 200 is cheaper and safer than a
// multipart/byteranges body for overlapping or many small ranges. Whitespace around the "=" , "-" or a
// trailing one is not accepted (the grammar has none there), and numbers past 2^63 are malformed.
ByteRange parse_range(std::string_view value, std::uint64_t size) noexcept;

// Whether a Range may be honoured given If-Range (RFC 9110 §13.1.5): no If-Range, or one that is
// exactly the Last-Modified date sent for this file (`last_modified`). An entity tag or any other date
// means the client's copy may differ: the whole file is sent.
bool if_range_allows(std::optional<std::string_view> if_range, std::string_view last_modified) noexcept;

}  // namespace http
