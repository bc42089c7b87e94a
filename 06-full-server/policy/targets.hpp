// How chapter 06 reaches a destination: --map before DNS, the rules checked
// against every resolved address, --outgoing-address for the local end.
#pragma once

#include "config.hpp"
#include "dial.hpp"
#include "request.hpp"

namespace socks {

// --map first, then the system resolver (chapter 04's resolve(), with the
// connect timeout as its deadline: lookup.hpp).
Resolved resolve_with_map(const Config& config, const Address& destination);

// Resolves, applies the rules to every address, and connects to the first
// allowed one that answers, from --outgoing-address when given. REP 02 when
// the rules leave no address to try.
Dialed dial_allowed(const Config& config, const SocketAddress& peer, Command command,
                    const Address& destination);

// True when connecting (or sending) to `destination` would reach one of this
// server's own listening sockets (Config::listening): the server would be its
// own client, and one connection could nest sessions until every slot is
// taken. A wildcard listener (0.0.0.0, ::) is every local address with its
// port, 127.0.0.0/8 and ::1 included.
bool is_own_listener(const Config& config, const SocketAddress& destination);

// 0.0.0.0, ::, or the domain "0" (PySocks' UDP ASSOCIATE): "any address".
bool is_unspecified(const Address& address);

// The --outgoing-address for `family`, or nullptr.
const SocketAddress* outgoing_for(const Config& config, int family);

}  // namespace socks
