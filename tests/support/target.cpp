#include "target.hpp"

#include <random>

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

namespace socks::test {

HttpTarget::HttpTarget(std::map<std::string, HttpFile> files, const std::string& host)
    : files_(std::move(files)),
      server_([this](const Fd& client, const SocketAddress&) { serve(client); }, host) {}

void HttpTarget::serve(const Fd& client) {
    set_receive_timeout(client, std::chrono::seconds(10));
    std::string request;
    std::uint8_t buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
        std::size_t n = read_some(client, buffer);
        if (n == 0) return;
        request.append(reinterpret_cast<const char*>(buffer), n);
    }
    ++requests_;
    // "GET /path HTTP/1.1"
    auto first_space = request.find(' ');
    auto second_space = request.find(' ', first_space + 1);
    std::string path = request.substr(first_space + 1, second_space - first_space - 1);
    auto file = files_.find(path);
    std::string response;
    if (file == files_.end()) {
        response = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    } else {
        response = "HTTP/1.0 200 OK\r\nContent-Type: " + file->second.content_type +
                   "\r\nContent-Length: " + std::to_string(file->second.body.size()) +
                   "\r\nConnection: close\r\n\r\n" + file->second.body;
    }
    write_all(client, response);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

std::string url(const std::string& host, std::uint16_t port, const std::string& path) {
    return "http://" + host + ":" + std::to_string(port) + path;
}

std::string random_text(std::size_t size, unsigned seed) {
    std::mt19937 random(seed);
    std::string text(size, '\0');
    for (char& c : text)
        c = static_cast<char>(random());
    return text;
}

}  // namespace socks::test
