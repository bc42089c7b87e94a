// Chapter 04's session step: read the request, reach the destination, reply.
#pragma once

#include <chrono>
#include <optional>

#include "net.hpp"
#include "request.hpp"

namespace socks {

struct Connected {
    Fd target;            // the connection to the destination
    Address destination;  // as the client wrote it
};

struct RequestOptions {
    std::chrono::milliseconds connect_timeout{10'000};
};

// Reads one request. CONNECT: resolves and connects, replies 00 with the
// outgoing socket's real local address as BND.ADDR/BND.PORT, and returns the
// connection. Anything else, or a failure: sends the full failure reply
// (unless the request was unreadable), logs why, and returns nullopt.
std::optional<Connected> serve_request(const Fd& client, const SocketAddress& peer,
                                       const RequestOptions& options = {});

}  // namespace socks
