#include "socks4.hpp"

#include <cstdio>
#include <cstring>

namespace socks {

namespace {
// Where the NUL ending a field that starts at `from` is, or NeedMore / ParseError.
std::variant<std::size_t, NeedMore, ParseError> find_terminator(ByteView bytes, std::size_t from,
                                                                const char* field) {
    // Look no further than 255 bytes, also when given more at once: a NUL
    // past the cap must not make an over-long field acceptable.
    for (std::size_t i = from; i < bytes.size() && i - from <= kSocks4MaxField; ++i) {
        if (bytes[i] == 0) return i;
    }
    if (bytes.size() - from > kSocks4MaxField) {
        return ParseError{std::string(field) + " is longer than 255 bytes", 0x5B};
    }
    return NeedMore{1};  // the NUL can only be found one byte at a time
}
}  // namespace

// +----+----+----+----+----+----+----+----+----+----+....+----+
// | VN | CD | DSTPORT |      DSTIP        | USERID       |NULL|
// +----+----+----+----+----+----+----+----+----+----+....+----+
//    1    1      2              4           variable       1
// SOCKS4a: DSTIP 0.0.0.x (x != 0) means "the host name follows":
//   ... | USERID | NULL | HOSTNAME | NULL |
Parsed<Socks4Request> parse_socks4_request(ByteView bytes) {
    // BEGIN SOLUTION ch06: parse VN, CD, DSTPORT, DSTIP and the NUL-terminated USERID (and SOCKS4a's host name), at most 255 bytes each
    if (bytes.size() < 1) return NeedMore{9};
    if (bytes[0] != 0x04) {
        char reason[48];
        std::snprintf(reason, sizeof reason, "VN is %02x, not 04", bytes[0]);
        return ParseError{reason, std::nullopt};
    }
    if (bytes.size() < 9) return NeedMore{9 - bytes.size()};
    Socks4Request request;
    request.command = static_cast<Command>(bytes[1]);
    request.destination.port = static_cast<std::uint16_t>(bytes[2] << 8 | bytes[3]);
    std::memcpy(request.destination.ip.data(), bytes.data() + 4, 4);

    auto user_end = find_terminator(bytes, 8, "USERID");
    if (!std::holds_alternative<std::size_t>(user_end)) {
        if (auto* more = std::get_if<NeedMore>(&user_end)) return *more;
        return std::get<ParseError>(user_end);
    }
    std::size_t user_nul = std::get<std::size_t>(user_end);
    request.user_id.assign(reinterpret_cast<const char*>(bytes.data() + 8), user_nul - 8);

    bool socks4a = bytes[4] == 0 && bytes[5] == 0 && bytes[6] == 0 && bytes[7] != 0;
    if (socks4a) {
        auto host_end = find_terminator(bytes, user_nul + 1, "SOCKS4a host name");
        if (!std::holds_alternative<std::size_t>(host_end)) {
            if (auto* more = std::get_if<NeedMore>(&host_end)) return *more;
            return std::get<ParseError>(host_end);
        }
        std::size_t host_nul = std::get<std::size_t>(host_end);
        if (host_nul == user_nul + 1) return ParseError{"SOCKS4a host name is empty", 0x5B};
        request.destination.type = AddressType::DomainName;
        request.destination.domain.assign(
            reinterpret_cast<const char*>(bytes.data() + user_nul + 1), host_nul - user_nul - 1);
        request.destination.ip = {};
    }
    return request;
    // END SOLUTION
}

Bytes serialize_socks4_reply(Socks4Reply code, const Address& bound) {
    // BEGIN SOLUTION ch06: VN 00 (not 04), CD, DSTPORT and DSTIP of the bound address (IPv4 only; zeros otherwise): 8 bytes
    Bytes out{0x00, static_cast<std::uint8_t>(code), static_cast<std::uint8_t>(bound.port >> 8),
              static_cast<std::uint8_t>(bound.port & 0xFF)};
    if (bound.type == AddressType::IPv4) {
        out.insert(out.end(), bound.ip.begin(), bound.ip.begin() + 4);
    } else {
        out.insert(out.end(), {0, 0, 0, 0});  // SOCKS4 can only say IPv4
    }
    return out;
    // END SOLUTION
}

}  // namespace socks
