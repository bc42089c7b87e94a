#include "trace.hpp"

#include <cstdio>

#include "handshake.hpp"
#include "log.hpp"
#include "request.hpp"

namespace socks {

const char* message_name(MessageKind kind) {
    switch (kind) {
        case MessageKind::Greeting:
            return "greeting";
        case MessageKind::MethodSelection:
            return "method-selection";
        case MessageKind::UserPass:
            return "auth";
        case MessageKind::AuthStatus:
            return "auth-status";
        case MessageKind::Request:
            return "request";
        case MessageKind::Reply:
            return "reply";
        case MessageKind::Socks4Request:
            return "socks4-request";
        case MessageKind::Socks4Reply:
            return "socks4-reply";
        case MessageKind::UdpDatagram:
            return "udp-datagram";
    }
    return "?";
}

std::optional<MessageKind> message_kind(std::string_view name) {
    for (auto kind :
         {MessageKind::Greeting, MessageKind::MethodSelection, MessageKind::UserPass,
          MessageKind::AuthStatus, MessageKind::Request, MessageKind::Reply,
          MessageKind::Socks4Request, MessageKind::Socks4Reply, MessageKind::UdpDatagram}) {
        if (name == message_name(kind)) return kind;
    }
    return std::nullopt;
}

namespace {

std::string text(ByteView bytes, std::size_t offset, std::size_t size) {
    return printable(std::string(reinterpret_cast<const char*>(bytes.data() + offset), size));
}

std::string port_at(ByteView bytes, std::size_t offset) {
    return std::to_string(bytes[offset] << 8 | bytes[offset + 1]);
}

// ATYP, ADDR, PORT starting at `at`; `prefix` is "DST" or "BND".
void describe_address(ByteView bytes, std::size_t at, const std::string& prefix,
                      std::vector<Field>& fields) {
    std::size_t size = 0;
    Parsed<Address> parsed = parse_address(bytes.subspan(at), size);
    const Address* address = std::get_if<Address>(&parsed);
    if (address == nullptr) return;
    static const char* types[] = {"", "IPv4", "", "DOMAINNAME", "IPv6"};
    fields.push_back({at, 1, "ATYP", types[bytes[at]]});
    std::size_t addr_at = at + 1, addr_size = size - 3;
    if (address->type == AddressType::DomainName) {
        fields.push_back({at + 1, 1, "LEN", std::to_string(bytes[at + 1])});
        addr_at += 1;
        addr_size -= 1;
    }
    fields.push_back({addr_at, addr_size, prefix + ".ADDR", address->host()});
    fields.push_back(
        {addr_at + addr_size, 2, prefix + ".PORT", port_at(bytes, addr_at + addr_size)});
}

}  // namespace

std::vector<Field> describe(MessageKind kind, ByteView b) {
    std::vector<Field> f;
    switch (kind) {
        case MessageKind::Greeting: {
            f.push_back({0, 1, "VER", std::to_string(b[0])});
            f.push_back({1, 1, "NMETHODS", std::to_string(b[1])});
            std::string methods;
            for (std::size_t i = 2; i < b.size(); ++i) {
                methods += (i > 2 ? ", " : "") + method_name(b[i]);
            }
            f.push_back({2, b.size() - 2, "METHODS", methods});
            break;
        }
        case MessageKind::MethodSelection:
            f.push_back({0, 1, "VER", std::to_string(b[0])});
            f.push_back({1, 1, "METHOD", method_name(b[1])});
            break;
        case MessageKind::UserPass: {
            std::size_t ulen = b[1], plen = b[2 + ulen];
            f.push_back({0, 1, "VER", std::to_string(b[0]) + " (RFC 1929)"});
            f.push_back({1, 1, "ULEN", std::to_string(ulen)});
            f.push_back({2, ulen, "UNAME", "\"" + text(b, 2, ulen) + "\""});
            f.push_back({2 + ulen, 1, "PLEN", std::to_string(plen)});
            // The password is never printed: size 0 hides its bytes too.
            f.push_back({3 + ulen, 0, "PASSWD", "(" + std::to_string(plen) + " bytes, hidden)"});
            break;
        }
        case MessageKind::AuthStatus:
            f.push_back({0, 1, "VER", std::to_string(b[0]) + " (RFC 1929)"});
            f.push_back({1, 1, "STATUS", b[1] == 0 ? "success" : "failure"});
            break;
        case MessageKind::Request:
            f.push_back({0, 1, "VER", std::to_string(b[0])});
            f.push_back({1, 1, "CMD", command_name(static_cast<Command>(b[1]))});
            f.push_back({2, 1, "RSV", ""});
            describe_address(b, 3, "DST", f);
            break;
        case MessageKind::Reply:
            f.push_back({0, 1, "VER", std::to_string(b[0])});
            f.push_back({1, 1, "REP", reply_name(static_cast<ReplyCode>(b[1]))});
            f.push_back({2, 1, "RSV", ""});
            describe_address(b, 3, "BND", f);
            break;
        case MessageKind::Socks4Request: {
            f.push_back({0, 1, "VN", "4"});
            f.push_back({1, 1, "CD", b[1] == 1 ? "CONNECT" : b[1] == 2 ? "BIND" : "?"});
            f.push_back({2, 2, "DSTPORT", port_at(b, 2)});
            char ip[16];
            std::snprintf(ip, sizeof ip, "%u.%u.%u.%u", b[4], b[5], b[6], b[7]);
            bool socks4a = b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0;
            f.push_back(
                {4, 4, "DSTIP", std::string(ip) + (socks4a ? " (SOCKS4a: name follows)" : "")});
            std::size_t nul = 8;
            while (nul < b.size() && b[nul] != 0)
                ++nul;
            f.push_back({8, nul - 8, "USERID", "\"" + text(b, 8, nul - 8) + "\""});
            f.push_back({nul, 1, "NULL", ""});
            if (socks4a && nul + 1 < b.size()) {
                std::size_t end = b.size() - 1;
                f.push_back({nul + 1, end - nul - 1, "HOSTNAME",
                             "\"" + text(b, nul + 1, end - nul - 1) + "\""});
                f.push_back({end, 1, "NULL", ""});
            }
            break;
        }
        case MessageKind::UdpDatagram: {
            f.push_back({0, 2, "RSV", ""});
            f.push_back({2, 1, "FRAG", b[2] == 0 ? "0 (whole datagram)" : std::to_string(b[2])});
            describe_address(b, 3, "DST", f);
            std::size_t header = f.back().offset + f.back().size;
            f.push_back(
                {header, b.size() - header, "DATA", std::to_string(b.size() - header) + " bytes"});
            break;
        }
        case MessageKind::Socks4Reply: {
            static const char* codes[] = {"granted", "rejected or failed", "no identd",
                                          "identd mismatch"};
            f.push_back({0, 1, "VN", "0 (reply)"});
            f.push_back({1, 1, "CD", b[1] >= 0x5A && b[1] <= 0x5D ? codes[b[1] - 0x5A] : "?"});
            f.push_back({2, 2, "DSTPORT", port_at(b, 2)});
            char ip[16];
            std::snprintf(ip, sizeof ip, "%u.%u.%u.%u", b[4], b[5], b[6], b[7]);
            f.push_back({4, 4, "DSTIP", ip});
            break;
        }
    }
    return f;
}

std::string format_trace(const std::string& peer, bool from_client, MessageKind kind,
                         ByteView bytes) {
    std::string out = peer + (from_client ? " C> " : " S> ") + message_name(kind) + " (" +
                      std::to_string(bytes.size()) + " bytes)\n";
    for (const Field& field : describe(kind, bytes)) {
        std::string hex;
        char cell[4];
        std::size_t shown = std::min<std::size_t>(field.size, 8);
        for (std::size_t i = 0; i < shown; ++i) {
            std::snprintf(cell, sizeof cell, "%02x ", bytes[field.offset + i]);
            hex += cell;
        }
        if (field.size > shown) hex += "...";
        if (field.size == 0 && field.name == "PASSWD") hex = "** ";
        // The meaning has no length limit (a 255-byte name escapes to 1 KiB):
        // only the two columns before it are formatted into a fixed buffer.
        char columns[64];
        std::snprintf(columns, sizeof columns, "    %-27s %-10s ", hex.c_str(), field.name.c_str());
        out += columns + field.meaning + "\n";
    }
    return out;
}

}  // namespace socks
