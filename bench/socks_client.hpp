// The client side of every benchmark: a TCP connection to a loopback target,
// either directly or through a SOCKS5 proxy (RFC 1928 CONNECT, optionally with
// RFC 1929 username/password), one message at a time as curl does it.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>

#include "net.hpp"

namespace bench {

struct Route {
    std::optional<sockaddr_in> proxy;  // none: connect to the target directly
    std::optional<std::string> user, password;
};

// Parses "127.0.0.1:1080" (IPv4 literal only: a benchmark must not depend on DNS).
std::optional<sockaddr_in> parse_ipv4_endpoint(const std::string& text);

// A connected stream to 127.0.0.1:`target_port`, with TCP_NODELAY set. Throws
// std::runtime_error (or std::system_error) naming the step that failed.
socks::Fd open_stream(const Route& route, std::uint16_t target_port);

}  // namespace bench
