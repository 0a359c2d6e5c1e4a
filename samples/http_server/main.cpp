// An HTTP/1.1 static file server as plain functions taking Io: GET and HEAD of the files under --root,
// keep-alive, Content-Length, a Content-Type by extension, Last-Modified with If-Modified-Since (304),
// a single byte Range (206 with Content-Range, 416 when unsatisfiable; a list of ranges gets the whole
// file, 200), and the error statuses 400, 403, 404, 405, 408, 414, 431, 503, 505. Request parsing is
// its own unit (http_parse.hpp), tested alone in tests/samples.
// The same functions run on every backend; --backend picks one.
//
// Concurrency and shutdown are shared with echo_server (samples/common/tcp_server.hpp): a task per
// connection where the backend can give it its own unit of concurrency, else one at a time in the
// accept loop; the idle timeout (--idle-timeout, 5 s by default: a read deadline on every request
// head) keeps an idle keep-alive client from holding the server forever.
//
// Files: the target is percent-decoded and must stay under the root (http_parse.cpp resolve_path
// refuses ".." segments, encoded or not, with 400); files are opened relative to the root directory's
// handle with OpenOptions::beneath, so a symbolic link that resolves outside the root is refused (403)
// — unless --follow-symlinks, which follows links anywhere. Links that stay beneath the root are
// followed. The file is opened first and then examined through its handle (fstat), so what is
// described is what is served. Only regular files are served (a directory serves its index.html).

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <pthread.h>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>
#include "http_cond.hpp"
#include "http_parse.hpp"
import zsync;
#include "tcp_server.hpp"

namespace {

struct Config {
    std::string backend = "blocking";
    std::string root;
    unsigned workers = 0;            // pool workers; 0: one per CPU
    unsigned idle_timeout = 5;       // seconds an open connection may wait for the first byte of a request
    unsigned header_timeout = 10;    // seconds from a request's first byte to the end of its head (else 408)
    bool quiet = false;              // no access log
    bool follow_symlinks = false;    // serve what symlinks under the root point to, even outside it
};

struct Shared {
    const Config* config = nullptr;
    const sample::Server* server = nullptr;
    zsync::Dir root;
};

constexpr auto write_timeout = std::chrono::seconds(30);
constexpr std::size_t chunk = 64 * 1024;


std::string date_field() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    return std::string(buf, n);
}

zsync::Result<void> send(zsync::Io io, zsync::TcpStream s, std::string_view text) {
    return s.write_all(io, text, zsync::Deadline::after(write_timeout));
}

// An error response with a short text body (none for HEAD).
zsync::Result<void> send_error(zsync::Io io, zsync::TcpStream s, int status, bool keep_alive, bool head_only,
                               std::string_view extra_fields = {}) {
    std::string body = std::to_string(status) + " " + std::string(http::reason_phrase(status)) + "\n";
    std::string out = http::response_head(status, "text/plain; charset=utf-8", body.size(), keep_alive,
                                          date_field() + std::string(extra_fields));
    if (!head_only) out += body;
    return send(io, s, out);
}

// Answers a parsed GET or HEAD with the file `rel` (relative to the root). Returns whether the
// connection may be kept (false after a file that ended early: the promised length was not sent).
// Opens `rel` beneath the root (unless --follow-symlinks) and examines it through its handle.
struct Opened {
    zsync::File file;
    zsync::FileStat st;
};
zsync::Result<Opened> open_beneath(zsync::Io io, const Shared& sh, const std::string& rel) {
    const std::string path = rel.empty() ? std::string(".") : rel;
    // Never open a FIFO or a device (opening a FIFO waits for a writer): only files and directories.
    auto pre = sh.root.stat_file(io, path);
    if (!pre) return pre.error();
    if (pre->kind != zsync::FileKind::file && pre->kind != zsync::FileKind::directory) return zsync::Error::system(ENOENT, zsync::Op::open);
    zsync::OpenOptions o;
    o.beneath = !sh.config->follow_symlinks;
    auto f = sh.root.open_file(io, path, o);
    if (!f) return f.error();
    auto st = f->stat(io);
    if (!st) {
        (void)f->close(io);
        return st.error();
    }
    return Opened{*f, *st};
}

// The status, head fields and byte span of the answer to a GET or HEAD of a file (RFC 9110 §13, §14):
// 304 when If-Modified-Since says the client's copy is current; on a GET, 206 with Content-Range for
// one satisfiable Range (unless If-Range names another version) or 416 for an unsatisfiable one; else
// 200. Range on HEAD is ignored (RFC 9110 §14.2: Range is defined for GET), as is a list of ranges.
struct Answer {
    int status = 200;
    std::uint64_t first = 0, length = 0;  // the bytes of the file to send
    std::string fields;                   // extra head fields but Date, each ending in CRLF
};
Answer answer_for(const http::Request& req, const zsync::FileStat& st) {
    Answer a;
    const std::int64_t mtime_s = st.mtime_ns >= 0 ? st.mtime_ns / 1'000'000'000 : -((-st.mtime_ns + 999'999'999) / 1'000'000'000);
    const std::string last_modified = http::http_date(mtime_s);
    a.fields = "Last-Modified: " + last_modified + "\r\nAccept-Ranges: bytes\r\n";
    a.length = st.size;
    if (http::not_modified(req.field("if-modified-since"), req.field("if-none-match"), mtime_s)) {
        a.status = 304;
        return a;
    }
    auto range = req.field("range");
    if (req.method != "GET" || !range || !http::if_range_allows(req.field("if-range"), last_modified)) return a;
    http::ByteRange r = http::parse_range(*range, st.size);
    if (r.kind == http::RangeKind::unsatisfiable) {
        a.status = 416;
        a.length = 0;
        a.fields = "Content-Range: bytes */" + std::to_string(st.size) + "\r\n";  // send_error adds Date
    } else if (r.kind == http::RangeKind::satisfiable) {
        a.status = 206;
        a.first = r.first;
        a.length = r.last - r.first + 1;
        a.fields += "Content-Range: bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(st.size) + "\r\n";
    }
    return a;
}

zsync::Result<bool> send_file(zsync::Io io, zsync::TcpStream s, const Shared& sh, const http::Request& req, std::string rel,
                              bool keep, bool head_only, int& status) {
    auto opened = open_beneath(io, sh, rel);
    if (opened && opened->st.kind == zsync::FileKind::directory) {
        (void)opened->file.close(io);
        rel = rel.empty() ? "index.html" : rel + "/index.html";
        opened = open_beneath(io, sh, rel);
    }
    if (!opened || opened->st.kind != zsync::FileKind::file) {
        if (!opened && opened.error().canceled()) return opened.error();
        if (opened) (void)opened->file.close(io);
        // Outside the root (a symlink out) or not readable: 403; anything else (missing, not a file): 404.
        status = !opened && (opened.error().is(zsync::Errc::outside_directory) || opened.error().is(std::errc::permission_denied)) ? 403 : 404;
        if (auto r = send_error(io, s, status, keep, head_only); !r) return r.error();
        return keep;
    }
    auto file = std::optional<zsync::File>(opened->file);
    Answer a = answer_for(req, opened->st);
    status = a.status;
    zsync::Result<bool> out = keep;
    if (a.status == 416) {
        if (auto r = send_error(io, s, 416, keep, head_only, a.fields); !r) out = r.error();
        (void)file->close(io);
        return out;
    }
    // 304 carries no body but the Content-Length a 200 would have (RFC 9110 §8.6).
    std::string head = http::response_head(a.status, http::content_type(rel), a.length, keep, date_field() + a.fields);
    if (head_only || a.status == 304) {
        if (auto r = send(io, s, head); !r) out = r.error();
    } else {
        // The head and the first part of the body in one write; then the rest a chunk at a time. The
        // body is read with pread from the range's start (the file position is not used).
        // Sized to what this answer needs (a small file: one small block) and left uninitialised: a
        // zeroed 64 KiB per request was 15 % of the server's CPU at 256 connections (perf, memset and
        // the page faults of fresh heap).
        const std::size_t cap = head.size() + static_cast<std::size_t>(std::min<std::uint64_t>(a.length, chunk));
        std::unique_ptr<std::byte[]> storage(new std::byte[cap]);
        std::span<std::byte> buf(storage.get(), cap);
        std::memcpy(buf.data(), head.data(), head.size());
        std::size_t filled = head.size();
        std::uint64_t offset = a.first, left = a.length;
        for (;;) {
            while (left > 0 && filled < buf.size()) {
                std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size() - filled));
                auto n = file->pread(io, buf.subspan(filled, want), offset);
                if (!n) { out = n.error(); break; }
                if (*n == 0) { out = false; left = 0; break; }  // the file shrank: close after what we have
                filled += *n;
                offset += *n;
                left -= *n;
            }
            if (!out) break;
            if (filled > 0) {
                if (auto w = s.write_all(io, buf.first(filled), zsync::Deadline::after(write_timeout)); !w) {
                    out = w.error();
                    break;
                }
            }
            filled = 0;
            if (left == 0) break;
        }
    }
    (void)file->close(io);
    return out;
}

// What read_head found.
constexpr std::size_t head_closed = 0;                              // close quietly (peer done, or idle)
constexpr std::size_t head_oversized = http::limits::max_head + 1;  // the caller answers 414/431
constexpr std::size_t head_timed_out = http::limits::max_head + 2;  // part of a head, then nothing: 408

// Reads one request head into `buf` (bytes of a following request may come with it and stay there).
// Returns the head's length or one of the values above. Two deadlines: `idle` until the request's
// first byte (an idle keep-alive connection is closed quietly), then `header_timeout` from that byte
// to the end of the head (a client sending its head slowly, or half of it, gets 408: slowloris).
zsync::Result<std::size_t> read_head(zsync::Io io, zsync::TcpStream s, std::string& buf, zsync::Deadline idle,
                                     std::chrono::seconds header_timeout) {
    std::optional<zsync::Deadline> header;
    for (;;) {
        if (std::size_t end = http::find_head_end(buf)) return end;
        if (buf.size() >= http::limits::max_head) return head_oversized;
        if (!buf.empty() && !header) header = zsync::Deadline::after(header_timeout);
        char tmp[4096];
        auto n = s.read(io, std::as_writable_bytes(std::span(tmp)), header ? *header : idle);
        if (!n) {
            if (n.error().is(zsync::Errc::timeout)) return header ? head_timed_out : head_closed;
            return n.error();
        }
        if (*n == 0) return head_closed;
        buf.append(tmp, *n);
    }
}

void log_request(const Shared& sh, std::string_view method, std::string_view target, int status) {
    if (sh.config->quiet) return;
    std::fprintf(stderr, "%.*s %.*s %d\n", int(method.size()), method.data(), int(std::min<std::size_t>(target.size(), 200)),
                 target.data(), status);
}

// Serves requests on one connection until it is to be closed.
zsync::Result<void> serve_requests(zsync::Io io, zsync::TcpStream s, const Shared& sh) {
    std::string buf;
    for (;;) {
        auto deadline = zsync::Deadline::after(std::chrono::seconds(sh.config->idle_timeout));
        auto got = read_head(io, s, buf, deadline, std::chrono::seconds(sh.config->header_timeout));
        if (!got) return got.error();
        if (*got == head_closed) return {};
        if (*got == head_timed_out) {
            log_request(sh, "-", "incomplete request head", 408);
            return send_error(io, s, 408, false, false);
        }
        if (*got == head_oversized) {
            http::Reject r = http::reject_oversized(buf);
            log_request(sh, "-", "-", r.status);
            return send_error(io, s, r.status, false, false);
        }
        std::string_view head(buf.data(), *got);
        auto parsed = http::parse_request(head);
        if (auto* reject = std::get_if<http::Reject>(&parsed)) {
            log_request(sh, "-", reject->reason, reject->status);
            return send_error(io, s, reject->status, false, false);
        }
        const http::Request& req = std::get<http::Request>(parsed);
        // Request bodies are not read: answer, then close rather than parse the body as a request.
        bool keep = req.keep_alive && !req.has_body && !sh.server->stopping.load();
        bool head_only = req.method == "HEAD";
        int status = 0;
        zsync::Result<bool> kept = keep;
        if (req.method != "GET" && !head_only) {
            status = 405;
            if (auto r = send_error(io, s, 405, keep, false, "Allow: GET, HEAD\r\n"); !r) kept = r.error();
        } else if (auto rel = http::resolve_path(req.target); !rel) {
            status = 400;
            if (auto r = send_error(io, s, 400, keep, head_only); !r) kept = r.error();
        } else {
            kept = send_file(io, s, sh, req, std::move(*rel), keep, head_only, status);
        }
        log_request(sh, req.method, req.target, status);
        if (!kept) return kept.error();
        if (!*kept) return {};
        buf.erase(0, *got);
    }
}

// Closes a connection gracefully: the write side first, then unread bytes are drained for a moment,
// so that a client still sending does not get a reset that destroys the response it has not read.
void close_connection(zsync::Io io, zsync::TcpStream s) {
    if (s.shutdown(io, zsync::ShutdownHow::write)) {
        auto until = zsync::Deadline::after(std::chrono::seconds(1));
        std::byte sink[4096];
        for (std::size_t total = 0; total < (1u << 20);) {
            auto n = s.read(io, sink, until);
            if (!n || *n == 0) break;
            total += *n;
        }
    }
    (void)s.close(io);
}

zsync::Result<void> connection(zsync::Io io, zsync::TcpStream s, Shared* sh) {
    (void)s.set_option(io, zsync::SocketOption::no_delay, 1);
    auto r = serve_requests(io, s, *sh);
    if (r || !r.error().canceled()) close_connection(io, s);
    else (void)s.close(io);
    return r;
}

// Past --max-connections: 503 with Retry-After, then close. The accept loop calls this, so every wait
// is short: the head fits an empty socket buffer, and only bytes already received are drained (so the
// close does not reset the connection before the client reads the answer).
void refuse_503(zsync::Io io, zsync::TcpStream s) {
    std::string body = "503 Service Unavailable: too many connections\n";
    std::string out = http::response_head(503, "text/plain; charset=utf-8", body.size(), false, date_field() + "Retry-After: 1\r\n") + body;
    if (s.write_all(io, out, zsync::Deadline::after(std::chrono::milliseconds(100))) && s.shutdown(io, zsync::ShutdownHow::write)) {
        std::byte sink[4096];
        auto until = zsync::Deadline::after(std::chrono::milliseconds(5));
        for (int i = 0; i < 4; ++i) {
            auto n = s.read(io, sink, until);
            if (!n || *n == 0) break;
        }
    }
    (void)s.close(io);
}

zsync::Result<void> run_server(zsync::Io io, sample::Server* srv, Shared* sh) {
    auto root = zsync::Dir::open(io, sh->config->root);
    if (!root) return root.error();
    sh->root = *root;
    auto out = sample::listen_and_serve(io, srv, connection, sh, refuse_503);
    (void)sh->root.close(io);
    return out;
}

template <class Backend, class... Opts>
int run_on(sample::Server& srv, const Config& config, const sigset_t& stop, Opts&&... opts) {
    Backend rt(std::forward<Opts>(opts)...);
    Shared shared;
    shared.config = &config;
    shared.server = &srv;
    return sample::run_until_signal(rt, srv, stop, run_server, &srv, &shared);
}

void usage() {
    std::fprintf(stderr,
                 "usage: http_server --root DIR [--backend blocking|pool|green] [--port N (0: any)] [--bind ADDR]\n"
                 "                   [--workers N] [--max-connections N] [--idle-timeout SECONDS] [--quiet]\n"
                 "                   [--header-timeout SECONDS] [--backlog N] [--follow-symlinks]\n"
                 "--max-connections: connections served at once (default 256); past it a client gets 503\n"
                 "                   with Retry-After. The blocking backend serves ONE connection at a time\n"
                 "                   (use --backend pool for concurrent clients)\n"
                 "--idle-timeout:    seconds to wait for the first byte of a request (default 5)\n"
                 "--header-timeout:  seconds from a request's first byte to the end of its head, else 408\n"
                 "                   (default 10)\n"
                 "--backlog:         listen backlog (default SOMAXCONN; the kernel caps it at net.core.somaxconn)\n"
                 "--follow-symlinks: serve what symbolic links under the root point to even when that is\n"
                 "                   outside the root (by default such links are refused with 403)\n"
                 "backends: blocking, pool, green (fibers on io_uring/epoll)\n");
}

}  // namespace

int main(int argc, char** argv) {
    Config c;
    sample::Server srv;
    srv.name = "http_server";
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        unsigned long v = 0;
        bool has = i + 1 < argc;
        if (a == "--backend" && has) c.backend = argv[++i];
        else if (a == "--root" && has) c.root = argv[++i];
        else if (a == "--bind" && has) srv.bind = argv[++i];
        else if (a == "--port" && has && sample::parse_unsigned(argv[++i], 65535, v)) srv.port = static_cast<std::uint16_t>(v);
        else if (a == "--workers" && has && sample::parse_unsigned(argv[++i], 1024, v)) c.workers = static_cast<unsigned>(v);
        else if (a == "--max-connections" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) srv.max_connections = static_cast<unsigned>(v);
        else if (a == "--idle-timeout" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) c.idle_timeout = static_cast<unsigned>(v);
        else if (a == "--header-timeout" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) c.header_timeout = static_cast<unsigned>(v);
        else if (a == "--backlog" && has && sample::parse_unsigned(argv[++i], 1u << 20, v) && v > 0) srv.backlog = static_cast<int>(v);
        else if (a == "--quiet") c.quiet = true;
        else if (a == "--follow-symlinks") c.follow_symlinks = true;
        else if (a == "--list-backends") { std::puts("blocking\npool\ngreen"); return 0; }
        else { usage(); return 2; }
    }
    if (c.root.empty()) { usage(); return 2; }
    sigset_t stop = sample::block_stop_signals();
    if (c.backend == "blocking") {
        std::fprintf(stderr, "http_server: the blocking backend serves one connection at a time (--backend pool serves them concurrently)\n");
        return run_on<zsync::BlockingIo>(srv, c, stop);
    }
    // A few threads beyond the limit: a connection's thread still counts for a moment after `active`
    // dropped, and the accept loop would refuse a client the limit allows.
    if (c.backend == "pool")
        return run_on<zsync::ThreadPoolIo>(srv, c, stop, zsync::ThreadPoolIo::Options{.workers = c.workers, .max_concurrent = srv.max_connections + 8});
    // green: one fiber per connection (its stack from a pool), workers as --workers says.
    if (c.backend == "green")
        return run_on<zsync::GreenThreadsIo>(srv, c, stop, zsync::GreenThreadsIo::Options{.workers = c.workers});
    std::fprintf(stderr, "http_server: unknown backend '%s'\n", c.backend.c_str());
    usage();
    return 2;
}
