#include "proxy_protocol.hpp"

#include "log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace socks {

namespace {

constexpr std::string_view kV1Signature = "PROXY ";
constexpr unsigned char kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                            0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::size_t kV2Fixed = 16;  // signature, ver/cmd, fam, len
// The shortest header of each version: "PROXY UNKNOWN\r\n", and v2's fixed part.
constexpr std::size_t kV1Shortest = 15;

ParseError error(const std::string& reason) {
    return ParseError{reason, std::nullopt};
}

std::string hex(std::uint8_t byte) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", byte);
    return text;
}

SocketAddress ipv4(const std::uint8_t* address, std::uint16_t port) {
    SocketAddress out;
    auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, address, 4);
    in->sin_port = htons(port);
    out.size = sizeof(sockaddr_in);
    return out;
}

SocketAddress ipv6(const std::uint8_t* address, std::uint16_t port) {
    SocketAddress out;
    auto* in = reinterpret_cast<sockaddr_in6*>(&out.storage);
    in->sin6_family = AF_INET6;
    std::memcpy(&in->sin6_addr, address, 16);
    in->sin6_port = htons(port);
    out.size = sizeof(sockaddr_in6);
    return out;
}

// A v1 port: 1 to 5 decimal digits, at most 65535.
std::optional<std::uint16_t> v1_port(std::string_view text) {
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::optional<SocketAddress> v1_address(int family, std::string_view host, std::string_view port) {
    auto number = v1_port(port);
    if (!number || host.size() > 45) return std::nullopt;
    std::string text(host);
    std::uint8_t bytes[16];
    if (::inet_pton(family, text.c_str(), bytes) != 1) return std::nullopt;
    return family == AF_INET ? ipv4(bytes, *number) : ipv6(bytes, *number);
}

// [docs:proxy-v1]
Parsed<ProxyHeader> parse_v1(ByteView bytes) {
    if (bytes.size() < kV1Shortest) return NeedMore{kV1Shortest - bytes.size()};
    // The line's length is not given: look for its LF one byte at a time.
    std::string_view given(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::size_t lf = given.find('\n');
    if (lf == std::string_view::npos || lf >= kProxyV1MaxLength) {
        if (bytes.size() >= kProxyV1MaxLength)
            return error("v1: no CRLF within " + std::to_string(kProxyV1MaxLength) + " bytes");
        return NeedMore{1};
    }
    std::string_view line = given.substr(0, lf + 1);  // the first LF ends the header
    if (!line.ends_with("\r\n")) return error("v1: the line ends in LF without CR");
    line = line.substr(kV1Signature.size(), line.size() - kV1Signature.size() - 2);
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {  // fields are separated by exactly one space
        std::size_t space = line.find(' ', start);
        fields.push_back(line.substr(start, space - start));
        if (space == std::string_view::npos) break;
        start = space + 1;
    }
    ProxyHeader header;
    header.version = 1;
    if (fields[0] == "UNKNOWN") return header;  // the rest of the line is to be ignored
    if (fields[0] != "TCP4" && fields[0] != "TCP6")
        return error("v1: protocol '" + printable(fields[0]) + "' is not TCP4, TCP6 or UNKNOWN");
    if (fields.size() != 5)
        return error("v1: " + std::to_string(fields.size()) +
                     " fields where PROTOCOL SRC DST SPORT DPORT are 5");
    int family = fields[0] == "TCP4" ? AF_INET : AF_INET6;
    header.source = v1_address(family, fields[1], fields[3]);
    header.destination = v1_address(family, fields[2], fields[4]);
    if (!header.source || !header.destination)
        return error("v1: '" + printable(fields[1]) + " " + printable(fields[3]) + "' / '" +
                     printable(fields[2]) + " " + printable(fields[4]) + "' are not " +
                     std::string(fields[0]) + " addresses and ports");
    return header;
}
// [/docs:proxy-v1]

// [docs:proxy-v2]
Parsed<ProxyHeader> parse_v2(ByteView bytes) {
    if (bytes.size() < kV2Fixed) return NeedMore{kV2Fixed - bytes.size()};
    std::uint8_t version = bytes[12] >> 4, command = bytes[12] & 0x0F, family = bytes[13];
    std::size_t length = (std::size_t{bytes[14]} << 8) | bytes[15];
    if (version != 2) return error("v2: version " + std::to_string(version) + ", not 2");
    if (command > 1) return error("v2: command " + hex(command) + " is not LOCAL or PROXY");
    if (length > kProxyV2MaxLength)
        return error("v2: " + std::to_string(length) + " address bytes announced, more than " +
                     std::to_string(kProxyV2MaxLength));
    if (bytes.size() < kV2Fixed + length) return NeedMore{kV2Fixed + length - bytes.size()};
    ProxyHeader header;
    header.version = 2;
    if (command == 0 || family == 0x00) return header;  // LOCAL, or UNSPEC: no address
    const std::uint8_t* address = bytes.data() + kV2Fixed;
    auto port = [&](std::size_t at) {
        return static_cast<std::uint16_t>((address[at] << 8) | address[at + 1]);
    };
    if (family == 0x11 && length >= 12) {  // TCP over IPv4
        header.source = ipv4(address, port(8));
        header.destination = ipv4(address + 4, port(10));
    } else if (family == 0x21 && length >= 36) {  // TCP over IPv6
        header.source = ipv6(address, port(32));
        header.destination = ipv6(address + 16, port(34));
    } else if (family == 0x11 || family == 0x21) {
        return error("v2: " + std::to_string(length) + " address bytes are too few for family " +
                     hex(family));
    } else {
        return error("v2: address family " + hex(family) +
                     " is not served (TCP over IPv4 0x11 or IPv6 0x21 only)");
    }
    return header;
}
// [/docs:proxy-v2]

}  // namespace

Parsed<ProxyHeader> parse_proxy_header(ByteView bytes) {
    if (bytes.empty()) return NeedMore{1};
    // Which version: the first byte tells, then every byte must match the signature.
    bool v1 = bytes[0] == kV1Signature[0];
    std::size_t signature = v1 ? kV1Signature.size() : sizeof kV2Signature;
    for (std::size_t i = 0; i < bytes.size() && i < signature; ++i) {
        std::uint8_t want = v1 ? static_cast<std::uint8_t>(kV1Signature[i]) : kV2Signature[i];
        if (bytes[i] != want)
            return error("not a PROXY protocol header (byte " + std::to_string(i) + " is " +
                         hex(bytes[i]) + ")");
    }
    return v1 ? parse_v1(bytes) : parse_v2(bytes);
}

bool starts_like_proxy_header(ByteView bytes) {
    if (bytes.size() < 5) return false;
    bool v1 = std::memcmp(bytes.data(), kV1Signature.data(),
                          std::min(bytes.size(), kV1Signature.size())) == 0;
    bool v2 =
        std::memcmp(bytes.data(), kV2Signature, std::min(bytes.size(), sizeof kV2Signature)) == 0;
    return v1 || v2;
}

}  // namespace socks
