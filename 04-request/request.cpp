#include "request.hpp"

#include "log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

namespace socks {

std::string command_name(Command command) {
    switch (command) {
        case Command::Connect:
            return "CONNECT";
        case Command::Bind:
            return "BIND";
        case Command::UdpAssociate:
            return "UDP ASSOCIATE";
    }
    char text[16];
    std::snprintf(text, sizeof text, "CMD %02x", static_cast<unsigned>(command));
    return text;
}

std::string Address::host() const {
    char text[INET6_ADDRSTRLEN] = "";
    switch (type) {
        case AddressType::IPv4:
            ::inet_ntop(AF_INET, ip.data(), text, sizeof text);
            return text;
        case AddressType::IPv6:
            ::inet_ntop(AF_INET6, ip.data(), text, sizeof text);
            return text;
        case AddressType::DomainName:
            return printable(domain);  // for display: the client chose these bytes
    }
    return "?";
}

std::string Address::to_string() const {
    return socks::to_string(Endpoint{host(), port});
}

Address address_from(const SocketAddress& socket_address) {
    Address address;
    address.port = socket_address.port();
    if (socket_address.family() == AF_INET6) {
        address.type = AddressType::IPv6;
        auto* v6 = reinterpret_cast<const sockaddr_in6*>(&socket_address.storage);
        std::memcpy(address.ip.data(), &v6->sin6_addr, 16);
    } else if (socket_address.family() == AF_INET) {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&socket_address.storage);
        std::memcpy(address.ip.data(), &v4->sin_addr, 4);
    }
    return address;
}

// +------+----------+----------+
// | ATYP | DST.ADDR | DST.PORT |
// +------+----------+----------+
// |  1   | Variable |    2     |
// +------+----------+----------+
// ATYP 01: 4 bytes; 03: one length byte, then that many bytes of name; 04: 16 bytes.
Parsed<Address> parse_address(ByteView bytes, std::size_t& size) {
    // BEGIN SOLUTION ch04: parse ATYP, ADDR and PORT (network order) and set `size`; ParseError with reply 0x08 for an unknown ATYP
    if (bytes.size() < 1) return NeedMore{1};
    Address address;
    std::size_t addr_size;
    std::size_t addr_at = 1;
    switch (bytes[0]) {
        case 0x01:
            addr_size = 4;
            break;
        case 0x04:
            addr_size = 16;
            break;
        case 0x03:
            if (bytes.size() < 2) return NeedMore{1};
            addr_size = bytes[1];
            addr_at = 2;
            break;
        default: {
            char reason[64];
            std::snprintf(reason, sizeof reason, "ATYP %02x is not 01, 03 or 04", bytes[0]);
            return ParseError{reason,
                              static_cast<std::uint8_t>(ReplyCode::AddressTypeNotSupported)};
        }
    }
    size = addr_at + addr_size + 2;
    if (bytes.size() < size) return NeedMore{size - bytes.size()};
    address.type = static_cast<AddressType>(bytes[0]);
    const std::uint8_t* addr = bytes.data() + addr_at;
    if (address.type == AddressType::DomainName) {
        address.domain.assign(reinterpret_cast<const char*>(addr), addr_size);
        // getaddrinfo() would stop at a NUL and resolve only the part before
        // it, while a rule compares the whole name: refuse such names outright.
        if (address.domain.find('\0') != std::string::npos) {
            return ParseError{"the domain name contains a NUL byte",
                              static_cast<std::uint8_t>(ReplyCode::HostUnreachable)};
        }
    } else {
        std::memcpy(address.ip.data(), addr, addr_size);
    }
    // [docs:port]
    address.port = static_cast<std::uint16_t>(addr[addr_size] << 8 | addr[addr_size + 1]);
    // [/docs:port]
    return address;
    // END SOLUTION
}

void serialize_address(const Address& address, Bytes& out) {
    // BEGIN SOLUTION ch04: append ATYP, the address (a length byte first for a domain) and the port, high byte first
    out.push_back(static_cast<std::uint8_t>(address.type));
    switch (address.type) {
        case AddressType::IPv4:
            out.insert(out.end(), address.ip.begin(), address.ip.begin() + 4);
            break;
        case AddressType::IPv6:
            out.insert(out.end(), address.ip.begin(), address.ip.end());
            break;
        case AddressType::DomainName:
            out.push_back(static_cast<std::uint8_t>(address.domain.size()));
            out.insert(out.end(), address.domain.begin(), address.domain.end());
            break;
    }
    out.push_back(static_cast<std::uint8_t>(address.port >> 8));  // network order: high byte first
    out.push_back(static_cast<std::uint8_t>(address.port & 0xFF));
    // END SOLUTION
}

// +----+-----+-------+------+----------+----------+
// |VER | CMD |  RSV  | ATYP | DST.ADDR | DST.PORT |
// +----+-----+-------+------+----------+----------+
// | 1  |  1  | X'00' |  1   | Variable |    2     |
// +----+-----+-------+------+----------+----------+
// CMD is not checked here: the server answers an unknown command with reply
// 0x07 after reading the whole request.
Parsed<Request> parse_request(ByteView bytes) {
    // BEGIN SOLUTION ch04: parse VER, CMD, RSV, then the address with parse_address; ParseError (reply 0x04) for an empty domain name
    if (bytes.size() < 1) return NeedMore{4};
    if (bytes[0] != 0x05) {
        char reason[64];
        std::snprintf(reason, sizeof reason, "request VER is %02x, not 05", bytes[0]);
        return ParseError{reason, std::nullopt};
    }
    if (bytes.size() < 4) return NeedMore{4 - bytes.size()};
    std::size_t size = 0;
    Parsed<Address> address = parse_address(bytes.subspan(3), size);
    if (auto* more = std::get_if<NeedMore>(&address)) return *more;
    if (auto* error = std::get_if<ParseError>(&address)) return *error;
    Request request{static_cast<Command>(bytes[1]), std::get<Address>(address)};
    if (request.destination.type == AddressType::DomainName && request.destination.domain.empty()) {
        return ParseError{"DST.ADDR is an empty domain name",
                          static_cast<std::uint8_t>(ReplyCode::HostUnreachable)};
    }
    return request;
    // END SOLUTION
}

std::string reply_name(ReplyCode code) {
    switch (code) {
        case ReplyCode::Succeeded:
            return "succeeded";
        case ReplyCode::GeneralFailure:
            return "general SOCKS server failure";
        case ReplyCode::NotAllowedByRuleset:
            return "connection not allowed by ruleset";
        case ReplyCode::NetworkUnreachable:
            return "network unreachable";
        case ReplyCode::HostUnreachable:
            return "host unreachable";
        case ReplyCode::ConnectionRefused:
            return "connection refused";
        case ReplyCode::TtlExpired:
            return "TTL expired";
        case ReplyCode::CommandNotSupported:
            return "command not supported";
        case ReplyCode::AddressTypeNotSupported:
            return "address type not supported";
    }
    char text[16];
    std::snprintf(text, sizeof text, "REP %02x", static_cast<unsigned>(code));
    return text;
}

// +----+-----+-------+------+----------+----------+
// |VER | REP |  RSV  | ATYP | BND.ADDR | BND.PORT |
// +----+-----+-------+------+----------+----------+
// | 1  |  1  | X'00' |  1   | Variable |    2     |
// +----+-----+-------+------+----------+----------+
Bytes serialize_reply(ReplyCode code, const Address& bound) {
    // BEGIN SOLUTION ch04: VER 05, REP, RSV 00, then the bound address
    Bytes out{0x05, static_cast<std::uint8_t>(code), 0x00};
    serialize_address(bound, out);
    return out;
    // END SOLUTION
}

}  // namespace socks
