// Conditional and range requests (see http_cond.hpp).
#include "http_cond.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace http {

namespace {

constexpr std::array<std::string_view, 7> short_days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_days{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), and back: the usual
// era-of-400-years arithmetic, exact for every year of an int.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

bool leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    static constexpr unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

// A small cursor over the text: each take_* consumes exactly what it names or fails.
struct Cursor {
    std::string_view s;
    bool lit(std::string_view want) noexcept {
        if (s.substr(0, want.size()) != want) return false;
        s.remove_prefix(want.size());
        return true;
    }
    // Exactly `n` digits.
    bool digits(std::size_t n, unsigned& out) noexcept {
        if (s.size() < n) return false;
        unsigned v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            v = v * 10 + static_cast<unsigned>(s[i] - '0');
        }
        out = v;
        s.remove_prefix(n);
        return true;
    }
    template <std::size_t N>
    bool name(const std::array<std::string_view, N>& names, unsigned& index) noexcept {
        for (unsigned i = 0; i < N; ++i)
            if (lit(names[i])) { index = i; return true; }
        return false;
    }
    // hh:mm:ss
    bool time(unsigned& h, unsigned& mi, unsigned& sec) noexcept {
        return digits(2, h) && lit(":") && digits(2, mi) && lit(":") && digits(2, sec);
    }
};

std::optional<std::int64_t> to_seconds(std::int64_t y, unsigned mon, unsigned d, unsigned h, unsigned mi, unsigned sec) noexcept {
    // Seconds up to 60: a leap second is a valid time-of-day in the grammar (RFC 9110 §5.6.7).
    if (mon < 1 || mon > 12 || d < 1 || d > days_in_month(y, mon) || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    return days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + sec;
}

// A decimal number of at most 18 digits (below 2^63), the whole of `s`.
std::optional<std::uint64_t> number(std::string_view s) noexcept {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

}  // namespace

std::string http_date(std::int64_t unix_seconds) {
    if (unix_seconds < 0) unix_seconds = 0;
    std::int64_t days = unix_seconds / 86400, rem = unix_seconds % 86400;
    std::int64_t y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    unsigned wd = static_cast<unsigned>((days + 4) % 7);  // 1970-01-01 was a Thursday
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%.*s, %02u %.*s %04lld %02u:%02u:%02u GMT", 3, short_days[wd].data(), d, 3,
                          months[m - 1].data(), static_cast<long long>(y), unsigned(rem / 3600), unsigned(rem / 60 % 60),
                          unsigned(rem % 60));
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<std::int64_t> parse_http_date(std::string_view text) noexcept {
    unsigned wd = 0, d = 0, mon = 0, y = 0, h = 0, mi = 0, sec = 0;
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (Cursor c{text}; c.name(short_days, wd) && c.lit(", ") && c.digits(2, d) && c.lit(" ") && c.name(months, mon) &&
                        c.lit(" ") && c.digits(4, y) && c.lit(" ") && c.time(h, mi, sec) && c.lit(" GMT") && c.s.empty())
        return to_seconds(y, mon + 1, d, h, mi, sec);
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year that looks more than 50 years in
    // the future is in the past century (RFC 9110 §5.6.7): here, 70..99 → 19xx, 00..69 → 20xx.
    if (Cursor c{text}; c.name(long_days, wd) && c.lit(", ") && c.digits(2, d) && c.lit("-") && c.name(months, mon) &&
                        c.lit("-") && c.digits(2, y) && c.lit(" ") && c.time(h, mi, sec) && c.lit(" GMT") && c.s.empty())
        return to_seconds(y >= 70 ? 1900 + y : 2000 + y, mon + 1, d, h, mi, sec);
    // asctime: "Sun Nov  6 08:49:37 1994" (day: two digits, or a space and one digit)
    if (Cursor c{text}; c.name(short_days, wd) && c.lit(" ") && c.name(months, mon) && c.lit(" ")) {
        bool day = c.lit(" ") ? c.digits(1, d) : c.digits(2, d);
        if (day && c.lit(" ") && c.time(h, mi, sec) && c.lit(" ") && c.digits(4, y) && c.s.empty())
            return to_seconds(y, mon + 1, d, h, mi, sec);
    }
    return std::nullopt;
}

bool not_modified(std::optional<std::string_view> if_modified_since, std::optional<std::string_view> if_none_match,
                  std::int64_t mtime_s) noexcept {
    if (if_none_match || !if_modified_since) return false;
    auto since = parse_http_date(*if_modified_since);
    return since && mtime_s <= *since;
}

ByteRange parse_range(std::string_view value, std::uint64_t size) noexcept {
    ByteRange none;
    // The range unit is case-insensitive (RFC 9110 §14.1); anything but bytes is ignored.
    if (value.size() < 6) return none;
    std::string_view unit = value.substr(0, 6);
    for (std::size_t i = 0; i < 5; ++i)
        if ((unit[i] | 0x20) != "bytes"[i]) return none;
    if (unit[5] != '=') return none;
    std::string_view spec = value.substr(6);
    if (spec.find(',') != std::string_view::npos) return none;  // several ranges: the whole file (documented)
    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return none;
    std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
    if (a.empty()) {  // suffix-range "-N"
        auto n = number(b);
        if (!n) return none;
        if (*n == 0 || size == 0) return {RangeKind::unsatisfiable};
        return {RangeKind::satisfiable, *n >= size ? 0 : size - *n, size - 1};
    }
    auto first = number(a);
    if (!first) return none;
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!b.empty()) {
        auto l = number(b);
        if (!l || *l < *first) return none;  // "5-3" is invalid syntax (RFC 9110 §14.1.1): ignored
        last = std::min(*l, last);
    }
    if (*first >= size) return {RangeKind::unsatisfiable};
    return {RangeKind::satisfiable, *first, last};
}

bool if_range_allows(std::optional<std::string_view> if_range, std::string_view last_modified) noexcept {
    return !if_range || *if_range == last_modified;
}

}  // namespace http
