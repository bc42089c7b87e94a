// A small SOCKS5 client for tests that need raw control of the connection,
// and the ways tests read a connection to its end.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "net.hpp"

namespace socks::test {

// RFC 1929's username/password request: 01 ULEN UNAME PLEN PASSWD.
Bytes user_pass(const std::string& user, const std::string& password);

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

// Everything the peer sends until it closes. `closed` is true after a FIN or a
// reset (ECONNRESET); otherwise `error` says what ended the reading (a timeout).
struct UntilClose {
    Bytes bytes;
    bool closed = false;
    std::string error;
};
UntilClose read_until_close(const Fd& socket);

// Everything the peer sends until its FIN, as text; throws std::system_error
// on a reset or a timeout.
std::string read_to_end(const Fd& socket);

// For testing a relay on its own: two loopback TCP connections. The relay gets
// client_end and target_end; the test plays client_app and target_app, whose
// reads time out after `timeout`.
struct RelayEnds {
    Fd client_app, client_end, target_end, target_app;
};
RelayEnds relay_ends(std::chrono::milliseconds timeout);

}  // namespace socks::test
