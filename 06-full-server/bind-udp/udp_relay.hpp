// UDP ASSOCIATE (RFC 1928 §6-7): the server relays the client's datagrams,
// each wrapped in a small header, for as long as the TCP connection lives.
#pragma once

#include <cstdint>
#include <string>

#include "bind.hpp"
#include "config.hpp"
#include "net.hpp"
#include "request.hpp"

namespace socks {

struct UdpStats {
    std::uint64_t bytes_up = 0, bytes_down = 0;  // DATA only, without headers
    std::uint64_t datagrams_up = 0, datagrams_down = 0, dropped = 0;
    std::string ended;
};

// Opens a UDP socket on the address the client reached us through, replies
// with it, and relays until the TCP control connection closes (or
// --idle-timeout passes). `client_hint` is the request's DST: where the client
// will send from (often zeros, or PySocks' domain "0"); its port, when not 0,
// is the only port accepted. Datagrams are accepted only from the TCP client's
// host; replies only from destinations the client has sent to.
UdpStats serve_udp_associate(const Config& config, const Fd& client, const SocketAddress& peer,
                             const Address& client_hint, const ReplySender& reply);

}  // namespace socks
