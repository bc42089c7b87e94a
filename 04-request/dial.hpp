// Reaching the client's destination: resolve it, connect with a deadline, and
// say what went wrong in the RFC's reply codes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "net.hpp"
#include "request.hpp"

namespace socks {

struct Resolved {
    std::vector<SocketAddress> addresses;  // empty on failure
    ReplyCode failure = ReplyCode::Succeeded;
    std::string detail;  // why, for the log
};
// IP addresses are used as they are; names go through getaddrinfo().
Resolved resolve(const Address& destination);
// Whether resolve() will ask a DNS server: a name that is neither an IP address
// written as text nor a .invalid name. The rest is answered at once.
bool asks_dns(const Address& destination);

// There is no reply code for "name not found"; like most servers we answer
// 0x04 host unreachable. A connect timeout is also 0x04: the host never
// answered. (0x06 TTL expired describes an ICMP time-exceeded, which Linux
// reports as EHOSTUNREACH anyway.)
ReplyCode reply_code_for_errno(int error);

struct Dialed {
    Fd socket;  // connected on success
    ReplyCode code = ReplyCode::GeneralFailure;
    std::string detail;  // "connect 127.0.0.1:9: Connection refused"
};
// Tries each address in turn, each with `timeout`; the first success wins.
// `bind_to`, when given, is the local address for outgoing connections.
Dialed connect_first(const std::vector<SocketAddress>& candidates,
                     std::chrono::milliseconds timeout, const SocketAddress* bind_to = nullptr);

// resolve() then connect_first(): the whole way to a destination.
Dialed dial(const Address& destination, std::chrono::milliseconds timeout);

}  // namespace socks
