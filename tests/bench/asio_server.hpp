// The accept loop both Asio peers use (echo and HTTP): a single-threaded io_context accepting on
// 127.0.0.1 and handing each connection to a `Session` (constructed from the socket, started with
// start(), kept alive by shared_from_this). Include after <asio.hpp>.
#pragma once
#include <memory>
#include <utility>

namespace bench {

template <class Session>
class AsioServer {
public:
    using tcp = asio::ip::tcp;
    AsioServer(asio::io_context& ctx, unsigned short port)
        : acceptor_(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), port)) {
        accept();
    }
    tcp::endpoint local() const { return acceptor_.local_endpoint(); }

private:
    void accept() {
        acceptor_.async_accept([this](asio::error_code ec, tcp::socket s) {
            if (!ec) std::make_shared<Session>(std::move(s))->start();
            accept();
        });
    }
    tcp::acceptor acceptor_;
};

}  // namespace bench
