// The Asio peer of bench_echo_zsync: a minimal echo server in the style of Asio's async_tcp_echo_server
// example (standalone Asio, header-only; Debian libasio-dev). One io_context run by one thread;
// async_read_some into a per-connection buffer, then async_write of what was read, then read again.
// TCP_NODELAY on every connection. Prints `listening on 127.0.0.1:PORT` first, then serves until killed.
//
//   bench_echo_asio [--port 0]
#include <cstdio>
#include <memory>
#include <asio.hpp>
#include "asio_server.hpp"
#include "bench_common.hpp"

namespace {

using asio::ip::tcp;

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
        socket_.async_read_some(asio::buffer(buf_), [this, self](asio::error_code ec, std::size_t n) {
            if (!ec) write(n);
        });
    }
    void write(std::size_t n) {
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(buf_, n), [this, self](asio::error_code ec, std::size_t) {
            if (!ec) read();
        });
    }
    tcp::socket socket_;
    char buf_[65536];
};

using Server = bench::AsioServer<Session>;

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
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
