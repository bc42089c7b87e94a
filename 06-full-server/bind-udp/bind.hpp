// BIND (RFC 1928 §4; SOCKS4 too): the client asks the server to listen for one
// inbound connection on its behalf — FTP's active mode is the classic user.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config.hpp"
#include "dial.hpp"
#include "net.hpp"
#include "request.hpp"

namespace socks {

// Sends one reply in the client's protocol (SOCKS5 or SOCKS4).
using ReplySender = std::function<void(ReplyCode code, const Address& bound)>;

struct BindOutcome {
    Fd peer;  // the accepted connection, on success
    ReplyCode code = ReplyCode::GeneralFailure;
    std::string detail;  // for the log
};

// Listens on an ephemeral port of the address the client reached us through,
// sends the first reply (that address and port), waits up to --bind-timeout
// for a connection from `expected` (any host when it is 0.0.0.0, :: or the
// name "0"; rules with cmd=bind also apply to the peer), sends the second reply
// (the peer's address and port) and returns the connection. On failure the
// failure reply has been sent. Ends early if the client closes.
BindOutcome serve_bind(const Config& config, const Fd& client, const SocketAddress& peer,
                       const Address& expected, const ReplySender& reply);

}  // namespace socks
