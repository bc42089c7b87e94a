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

// Chapter 04's ending, after whatever reply was sent (there is no relay yet).
// Closing a socket that still holds unread bytes sends RST instead of FIN, and
// bytes often are unread: curl's HTTP request arrives right behind the CONNECT,
// and after an unknown ATYP the rest of the request was never read. A client
// that sees the reset may drop the reply (nc prints nothing; curl reports
// "Connection reset by peer" instead of "Empty reply from server"). So: send
// FIN first, then read and discard until the client closes too (or `linger`
// passes in silence).
void hang_up(const Fd& client, std::chrono::milliseconds linger = std::chrono::seconds(5));

}  // namespace socks
