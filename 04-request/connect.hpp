// Chapter 04's session step: read the request, reach the destination, reply.
#pragma once

#include <chrono>
#include <optional>

#include "hang_up.hpp"  // hang_up(): how chapter 04 ends every session
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

// The two halves of a request's exchange, for servers that decide in between
// (chapter 06 checks its rules there). read_request sends the reply a bad
// request calls for (0x08 unknown ATYP, ...), logs why, and returns nullopt.
std::optional<Request> read_request(const Fd& client, const SocketAddress& peer);
void send_reply(const Fd& client, ReplyCode code, const Address& bound = {});

// Reads one request. CONNECT: resolves and connects, replies 00 with the
// outgoing socket's real local address as BND.ADDR/BND.PORT, and returns the
// connection. Anything else, or a failure: sends the full failure reply
// (unless the request was unreadable), logs why, and returns nullopt.
std::optional<Connected> serve_request(const Fd& client, const SocketAddress& peer,
                                       const RequestOptions& options = {});

}  // namespace socks
