// HTTP/1.x request parsing (see http_parse.hpp). RFC 9110 / RFC 9112, the subset a static file server
// needs; strict where leniency would let two parsers disagree (field names, Content-Length, folding).
#include "http_parse.hpp"

#include <algorithm>
#include <array>

namespace http {

namespace {

constexpr bool is_tchar(unsigned char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Reject bad(std::string reason) { return Reject{400, std::move(reason)}; }

// The next line of `rest` (without its LF and an optional CR before it); advances `rest`.
std::string_view next_line(std::string_view& rest) noexcept {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::optional<std::string_view> Request::field(std::string_view name) const {
    for (const Field& f : fields)
        if (iequals(f.name, name)) return f.value;
    return std::nullopt;
}

std::size_t find_head_end(std::string_view buffer) noexcept {
    for (std::size_t i = buffer.find('\n'); i != std::string_view::npos; i = buffer.find('\n', i + 1)) {
        if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
        if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
    }
    return 0;
}

Reject reject_oversized(std::string_view buffer) {
    if (buffer.find('\n') == std::string_view::npos) return Reject{414, "request line over the size limit"};
    return Reject{431, "request head over the size limit"};
}

std::variant<Request, Reject> parse_request(std::string_view head) {
    if (head.size() > limits::max_head) return reject_oversized(head);
    Request req;
    std::string_view rest = head;
    // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
    std::string_view line = next_line(rest);
    if (line.empty()) line = next_line(rest);

    // request-line = method SP request-target SP HTTP-version (single spaces)
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos) return bad("malformed request line");
    std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return bad("malformed request line");
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(req.method)) return bad("malformed method");
    if (req.target.size() > limits::max_target) return Reject{414, "request target over the size limit"};
    if (req.target.empty()) return bad("empty request target");
    for (char ch : req.target) {
        auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f) return bad("malformed request target");
    }
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return bad("malformed HTTP version");
    if (version[5] != '1') return Reject{505, "HTTP version not supported"};
    req.version_minor = version[7] == '0' ? 0 : 1;  // 1.x above 1.1: answered as 1.1 (RFC 9110 §6.2)

    // field-line = field-name ":" OWS field-value OWS
    for (;;) {
        if (rest.empty()) return bad("head without its empty line");
        line = next_line(rest);
        if (line.empty()) break;
        if (line.front() == ' ' || line.front() == '\t') return bad("obsolete line folding");
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return bad("header field without a colon");
        Field f{line.substr(0, colon), trim(line.substr(colon + 1))};
        if (!is_token(f.name)) return bad("malformed header field name");
        for (char ch : f.value) {
            auto c = static_cast<unsigned char>(ch);
            if ((c < 0x20 && c != '\t') || c == 0x7f) return bad("control character in a header field");
        }
        if (req.fields.size() == limits::max_fields) return Reject{431, "too many header fields"};
        req.fields.push_back(f);
    }
    if (!rest.empty()) return bad("bytes after the head");

    int hosts = 0;
    std::optional<std::uint64_t> content_length;
    bool chunked = false, saw_close = false, saw_keep_alive = false;
    for (const Field& f : req.fields) {
        if (iequals(f.name, "host")) {
            ++hosts;
        } else if (iequals(f.name, "content-length")) {
            if (f.value.empty() || f.value.size() > 18 ||
                !std::all_of(f.value.begin(), f.value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return bad("malformed Content-Length");
            std::uint64_t n = 0;
            for (char c : f.value) n = n * 10 + static_cast<std::uint64_t>(c - '0');
            if (content_length && *content_length != n) return bad("conflicting Content-Length");
            content_length = n;
        } else if (iequals(f.name, "transfer-encoding")) {
            chunked = true;
        } else if (iequals(f.name, "connection")) {
            std::string_view v = f.value;
            while (!v.empty()) {
                std::size_t comma = v.find(',');
                std::string_view option = trim(v.substr(0, comma));
                if (iequals(option, "close")) saw_close = true;
                else if (iequals(option, "keep-alive")) saw_keep_alive = true;
                v.remove_prefix(comma == std::string_view::npos ? v.size() : comma + 1);
            }
        }
    }
    // HTTP/1.1 keeps the connection unless "close"; HTTP/1.0 closes it unless "keep-alive" (and no
    // "close", which wins whatever the order).
    req.keep_alive = !saw_close && (req.version_minor >= 1 || saw_keep_alive);
    if (req.version_minor >= 1 && hosts != 1) return bad(hosts ? "more than one Host field" : "no Host field");
    if (hosts > 1) return bad("more than one Host field");
    if (chunked && content_length) return bad("both Transfer-Encoding and Content-Length");
    req.has_body = chunked || (content_length && *content_length > 0);
    return req;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        char c = static_cast<char>(hi * 16 + lo);
        if (c == '\0') return std::nullopt;
        out.push_back(c);
        i += 2;
    }
    return out;
}

namespace {
// RFC 9112 §3.2.2 absolute-form, "http://authority/path" (scheme case-insensitive; http or https):
// the path part ("/" when the authority is all there is), or nullopt if `target` is not absolute-form
// or its authority is empty or carries userinfo (deprecated, RFC 9110 §4.2.4). The authority is not
// checked against Host or this server's name: a static server answers for whatever name it is given.
std::optional<std::string_view> absolute_form_path(std::string_view target) {
    std::size_t colon = target.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view scheme = target.substr(0, colon);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return std::nullopt;
    std::string_view rest = target.substr(colon + 3);
    std::size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    if (end == std::string_view::npos || rest[end] != '/') return std::string_view("/");  // "http://h" or "http://h?q"
    return rest.substr(end);
}
}  // namespace

std::optional<std::string> resolve_path(std::string_view target) {
    if (!target.empty() && target.front() != '/') {
        auto path = absolute_form_path(target);
        if (!path) return std::nullopt;
        target = *path;
    }
    if (target.empty() || target.front() != '/') return std::nullopt;
    target = target.substr(0, target.find_first_of("?#"));
    auto decoded = percent_decode(target);
    if (!decoded) return std::nullopt;
    std::string_view path = *decoded;
    if (path.find('\\') != std::string_view::npos) return std::nullopt;
    std::string out;
    while (!path.empty()) {
        std::size_t slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") return std::nullopt;
        if (!out.empty()) out.push_back('/');
        out.append(seg);
    }
    return out;
}

std::string_view content_type(std::string_view path) noexcept {
    struct Entry { std::string_view ext, type; };
    static constexpr std::array<Entry, 14> types{{
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"xml", "application/xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"svg", "image/svg+xml"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
    }};
    std::size_t slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::size_t dot = name.rfind('.');
    if (dot != std::string_view::npos && dot > 0) {
        std::string_view ext = name.substr(dot + 1);
        for (const Entry& e : types)
            if (iequals(e.ext, ext)) return e.type;
    }
    return "application/octet-stream";
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

std::string response_head(int status, std::string_view content_type, std::uint64_t content_length, bool keep_alive,
                          std::string_view extra_fields) {
    std::string h;
    h.reserve(160 + extra_fields.size());
    h += "HTTP/1.1 ";
    h += std::to_string(status);
    h += ' ';
    h += reason_phrase(status);
    h += "\r\nServer: zsync-http_server\r\nContent-Type: ";
    h += content_type;
    h += "\r\nContent-Length: ";
    h += std::to_string(content_length);
    h += keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
    h += extra_fields;
    h += "\r\n";
    return h;
}

}  // namespace http
