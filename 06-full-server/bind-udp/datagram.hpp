// RFC 1928 §7: the header in front of every UDP datagram relayed for a client.
#pragma once

#include <cstdint>

#include "message.hpp"
#include "net.hpp"
#include "request.hpp"

namespace socks {

struct UdpHeader {
    std::uint8_t fragment = 0;  // FRAG: 0 = a whole datagram
    Address destination;        // where the data goes (client -> relay), or came from
    std::size_t size = 0;       // header bytes; DATA starts here
};

// A datagram arrives whole or not at all, so a short one is an error, never NeedMore.
std::variant<UdpHeader, ParseError> parse_udp_header(ByteView datagram);

// RSV RSV FRAG=00 ATYP ADDR PORT, then `data`.
Bytes serialize_udp_datagram(const Address& source, ByteView data);

}  // namespace socks
