// SOCKS4 and SOCKS4a, served on the same port as SOCKS5: the first byte tells
// them apart (04 or 05).
#pragma once

#include <cstdint>
#include <string>

#include "message.hpp"
#include "net.hpp"
#include "request.hpp"

namespace socks {

enum class Socks4Reply : std::uint8_t {
    Granted = 0x5A,
    Rejected = 0x5B,  // rejected or failed
    NoIdentd = 0x5C,
    IdentMismatch = 0x5D,
};

struct Socks4Request {
    Command command;      // 01 CONNECT or 02 BIND
    Address destination;  // IPv4, or DomainName for SOCKS4a
    std::string user_id;
};

// USERID and the SOCKS4a host name are NUL-terminated with no length given;
// we stop at 255 bytes each, so a client cannot make us read forever.
inline constexpr std::size_t kSocks4MaxField = 255;

Parsed<Socks4Request> parse_socks4_request(ByteView bytes);

// +----+----+----+----+----+----+----+----+
// | VN | CD | DSTPORT |      DSTIP        |   VN is 0 in replies
// +----+----+----+----+----+----+----+----+
Bytes serialize_socks4_reply(Socks4Reply code, const Address& bound = {});

}  // namespace socks
