// The Asio peer of the zsync sample http_server, for the HTTP benchmark (run_net_benchmarks.sh, wrk):
// a minimal HTTP/1.1 static file server on standalone Asio (header-only; Debian libasio-dev). One
// io_context run by one thread.
//
//   bench_http_asio --root DIR [--port 0]
//
// Behaviour: GET (and HEAD) of a file under --root ("/" is index.html); 200 with Content-Length and the
// file's bytes, read from the file on every request (open, fstat, read, close: no cache, as a naive
// static server), with a Date field (the zsync sample formats one per response too); 404 for a missing file, 400 for a malformed request or a path with "..", 405 for
// other methods. Keep-alive by default on HTTP/1.1 (closed after `Connection: close`, or on HTTP/1.0
// without `Connection: keep-alive`); pipelined requests are answered in order. TCP_NODELAY on every
// connection. Prints `listening on 127.0.0.1:PORT` first, then serves until killed. Loopback only.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <asio.hpp>
#include "asio_server.hpp"
#include "bench_common.hpp"

namespace {

using asio::ip::tcp;

std::string g_root;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower((unsigned char)x) == std::tolower((unsigned char)y); });
}

// "Date: ...\r\n", formatted on every response (as the zsync sample does).
void append_date(std::string& out) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    out.append(buf, std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm));
}

// Builds the response to one request (header block `req`, without the final CRLF CRLF) into `out`;
// returns whether the connection stays open.
bool respond(std::string_view req, std::string& out) {
    auto line_end = req.find("\r\n");
    std::string_view line = req.substr(0, line_end);
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    auto simple = [&out](const char* status, bool keep) {
        out += "HTTP/1.1 ";
        out += status;
        out += "\r\nContent-Length: 0\r\n";
        append_date(out);
        out += keep ? "" : "Connection: close\r\n";
        out += "\r\n";
        return keep;
    };
    if (sp2 == std::string_view::npos) return simple("400 Bad Request", false);
    std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1), version = line.substr(sp2 + 1);
    bool keep = version == "HTTP/1.1";
    // Headers: only Connection matters here.
    std::size_t pos = line_end == std::string_view::npos ? req.size() : line_end + 2;
    while (pos < req.size()) {
        auto e = req.find("\r\n", pos);
        std::string_view h = req.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
        pos = e == std::string_view::npos ? req.size() : e + 2;
        auto colon = h.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = h.substr(0, colon), value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (iequals(name, "connection")) {
            if (iequals(value, "close")) keep = false;
            else if (iequals(value, "keep-alive")) keep = true;
        }
    }
    bool head = method == "HEAD";
    if (method != "GET" && !head) return simple("405 Method Not Allowed", keep);
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target.empty() || target.front() != '/' || target.find("..") != std::string_view::npos) return simple("400 Bad Request", false);
    std::string path = g_root;
    path += target;
    if (target == "/") path += "index.html";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) ::close(fd);
        return simple("404 Not Found", keep);
    }
    out += "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ";
    out += std::to_string(st.st_size);
    out += "\r\n";
    append_date(out);
    out += keep ? "\r\n" : "Connection: close\r\n\r\n";
    if (!head) {
        std::size_t at = out.size();
        out.resize(at + std::size_t(st.st_size));
        std::size_t got = 0;
        while (got < std::size_t(st.st_size)) {
            ssize_t n = ::pread(fd, out.data() + at + got, std::size_t(st.st_size) - got, off_t(got));
            if (n <= 0) break;
            got += std::size_t(n);
        }
        out.resize(at + got);  // a file that shrank: the client sees a short body and a closed connection
        if (got != std::size_t(st.st_size)) keep = false;
    }
    ::close(fd);
    return keep;
}

class Session : public std::enable_shared_from_this<Session> {
public:
    explicit Session(tcp::socket s) : socket_(std::move(s)) {}
    void start() {
        asio::error_code ec;
        socket_.set_option(tcp::no_delay(true), ec);
        read();
    }

private:
    void read() {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(chunk_), [this, self](asio::error_code ec, std::size_t n) {
            if (ec) return;
            in_.append(chunk_, n);
            if (in_.size() > 65536) return;  // a header block that large: drop the connection
            serve();
        });
    }
    // Answers every complete request in in_ with one write, then reads on (or closes).
    void serve() {
        out_.clear();
        bool keep = true;
        std::size_t consumed = 0;
        for (;;) {
            auto end = in_.find("\r\n\r\n", consumed);
            if (end == std::string::npos) break;
            keep = respond(std::string_view(in_).substr(consumed, end - consumed), out_);
            consumed = end + 4;
            if (!keep) break;
        }
        in_.erase(0, consumed);
        if (out_.empty()) return read();
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(out_), [this, self, keep](asio::error_code ec, std::size_t) {
            if (ec) return;
            if (!keep) {
                asio::error_code ignored;
                socket_.shutdown(tcp::socket::shutdown_send, ignored);
                return;
            }
            if (in_.find("\r\n\r\n") != std::string::npos) serve();
            else read();
        });
    }
    tcp::socket socket_;
    char chunk_[8192];
    std::string in_, out_;
};

using Server = bench::AsioServer<Session>;

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    g_root = std::string(args.get("--root", ""));
    if (g_root.empty()) {
        std::fprintf(stderr, "usage: bench_http_asio --root DIR [--port 0]\n");
        return 2;
    }
    try {
        asio::io_context ctx(1);
        Server server(ctx, static_cast<unsigned short>(args.num("--port", 0)));
        auto at = server.local();
        std::printf("listening on %s:%u\n", at.address().to_string().c_str(), unsigned(at.port()));
        std::fflush(stdout);
        ctx.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
