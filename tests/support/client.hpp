// A small SOCKS5 client for tests that need raw control of the connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net.hpp"

namespace socks::test {

struct Socks5Connection {
    Fd socket;       // connected through the proxy on success
    int reply = -1;  // REP, or -1 if the proxy never answered the request
};

// Greeting (NO AUTH, or USERNAME/PASSWORD when `user` is given), optional
// RFC 1929, then CONNECT `host`:`port` (an IPv4 literal is sent as ATYP 01,
// anything else as a domain name). Every read has a 5 s timeout.
Socks5Connection socks5_connect(
    const Endpoint& proxy, const std::string& host, std::uint16_t port,
    const std::optional<std::pair<std::string, std::string>>& user = {});

}  // namespace socks::test
