#include "datagram.hpp"

#include <cstdio>

namespace socks {

// +----+------+------+----------+----------+----------+
// |RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
// +----+------+------+----------+----------+----------+
// | 2  |  1   |  1   | Variable |    2     | Variable |
// +----+------+------+----------+----------+----------+
std::variant<UdpHeader, ParseError> parse_udp_header(ByteView datagram) {
    // BEGIN SOLUTION ch06: parse RSV, FRAG and the address of a UDP request header; a short datagram is an error
    if (datagram.size() < 4) return ParseError{"datagram shorter than a SOCKS UDP header", {}};
    UdpHeader header;
    header.fragment = datagram[2];
    std::size_t address_size = 0;
    Parsed<Address> address = parse_address(datagram.subspan(3), address_size);
    if (std::holds_alternative<NeedMore>(address)) {
        return ParseError{"datagram ends inside its header's address", {}};
    }
    if (auto* error = std::get_if<ParseError>(&address)) return *error;
    header.destination = std::get<Address>(address);
    header.size = 3 + address_size;
    return header;
    // END SOLUTION
}

Bytes serialize_udp_datagram(const Address& source, ByteView data) {
    Bytes out{0x00, 0x00, 0x00};
    serialize_address(source, out);
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

}  // namespace socks
