#include "target.hpp"

#include "echo.hpp"

namespace socks::test {

BackgroundServer::BackgroundServer(ConnectionHandler handler, const std::string& host)
    : server_({{host, 0}}, std::move(handler)),
      host_(host),
      port_(server_.addresses().front().port()),
      thread_([this] { server_.serve(); }) {}

BackgroundServer::~BackgroundServer() {
    server_.stop();
    thread_.join();
}

BackgroundServer echo_target(const std::string& host) {
    return BackgroundServer(echo_session, host);
}

std::uint16_t closed_port() {
    Fd probe = listen_tcp({"127.0.0.1", 0});
    return local_address(probe).port();  // closed when `probe` goes out of scope
}

}  // namespace socks::test
