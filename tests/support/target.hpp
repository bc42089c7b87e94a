// Local destinations for tests: a server running in the test process, on an
// ephemeral loopback port, built from chapter 01's Server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "server.hpp"

namespace socks::test {

class BackgroundServer {
  public:
    // `host` is "127.0.0.1" or "::1".
    explicit BackgroundServer(ConnectionHandler handler, const std::string& host = "127.0.0.1");
    ~BackgroundServer();  // stops, ends live sessions, joins
    BackgroundServer(const BackgroundServer&) = delete;
    BackgroundServer& operator=(const BackgroundServer&) = delete;

    std::uint16_t port() const { return port_; }
    Endpoint endpoint() const { return {host_, port_}; }

  private:
    Server server_;
    std::string host_;
    std::uint16_t port_;
    std::thread thread_;
};

// A loopback TCP target that echoes every byte (chapter 01's handler).
BackgroundServer echo_target(const std::string& host = "127.0.0.1");

// A port on 127.0.0.1 that nobody listens on (bound for a moment, then released).
std::uint16_t closed_port();

}  // namespace socks::test

namespace socks::test {

// A minimal HTTP/1.0 server for curl and Chromium tests: answers GET PATH with
// the body registered for PATH (404 otherwise), then closes.
struct HttpFile {
    std::string content_type;
    std::string body;
};
class HttpTarget {
  public:
    explicit HttpTarget(std::map<std::string, HttpFile> files,
                        const std::string& host = "127.0.0.1");
    std::uint16_t port() const { return server_.port(); }
    int requests() const { return requests_.load(); }

  private:
    void serve(const Fd& client);
    std::map<std::string, HttpFile> files_;
    std::atomic<int> requests_{0};
    BackgroundServer server_;
};

// Waits until `condition` holds, checking every 10 ms, for at most `timeout`.
// For state another process changes without telling us (its /proc entries).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// "http://HOST:PORT/PATH"; HOST may be an IPv6 literal, written in brackets.
std::string url(const std::string& host, std::uint16_t port, const std::string& path = "/");

// Deterministic bytes of every value, the same for the same `seed`, for
// byte-identical comparisons.
std::string random_text(std::size_t size, unsigned seed);

}  // namespace socks::test
