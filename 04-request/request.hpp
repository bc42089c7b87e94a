// RFC 1928 §4-6: the client's request, the server's reply, and the address
// format both of them (and UDP datagrams, in chapter 06) share.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fields.hpp"
#include "message.hpp"
#include "net.hpp"

namespace socks {

enum class Command : std::uint8_t { Connect = 0x01, Bind = 0x02, UdpAssociate = 0x03 };
std::string command_name(Command command);  // "CONNECT", "BIND", "UDP ASSOCIATE", "CMD 09"

enum class AddressType : std::uint8_t { IPv4 = 0x01, DomainName = 0x03, IPv6 = 0x04 };

// ATYP + ADDR + PORT: where to connect (DST) or where the server is bound (BND).
struct Address {
    AddressType type = AddressType::IPv4;
    std::array<std::uint8_t, 16> ip{};  // 4 bytes used for IPv4, 16 for IPv6
    std::string domain;                 // for DomainName: 0 to 255 bytes, no terminator
    std::uint16_t port = 0;

    std::string host() const;       // "127.0.0.1", "::1" or the domain
    std::string to_string() const;  // "127.0.0.1:80", "[::1]:80", "example.com:80"
};
Address address_from(const SocketAddress& socket_address);

// Parses ATYP, DST.ADDR, DST.PORT from the start of `bytes`; `size` tells how
// many bytes that took. Unknown ATYP gives ParseError with reply 0x08.
Parsed<Address> parse_address(ByteView bytes, std::size_t& size);
void serialize_address(const Address& address, Bytes& out);

struct Request {
    Command command;
    Address destination;
};
Parsed<Request> parse_request(ByteView bytes);

enum class ReplyCode : std::uint8_t {
    Succeeded = 0x00,
    GeneralFailure = 0x01,
    NotAllowedByRuleset = 0x02,
    NetworkUnreachable = 0x03,
    HostUnreachable = 0x04,
    ConnectionRefused = 0x05,
    TtlExpired = 0x06,
    CommandNotSupported = 0x07,
    AddressTypeNotSupported = 0x08,
};
std::string reply_name(ReplyCode code);  // "succeeded", "connection refused", ...

// A reply is always complete (at least 10 bytes), also for failures: clients
// such as curl wait for the whole message before they look at REP.
Bytes serialize_reply(ReplyCode code, const Address& bound = {});

// --trace (chapter 02's fields.hpp): "request" and "reply", the rest by
// describe_auth. describe_address adds ATYP, [LEN,] ADDR and PORT found at
// `at`, named "DST..." or "BND..." by `prefix` (UDP datagrams share them).
std::vector<Field> describe_request(std::string_view name, ByteView bytes);
void describe_address(ByteView bytes, std::size_t at, const std::string& prefix,
                      std::vector<Field>& fields);

}  // namespace socks
