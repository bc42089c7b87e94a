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

std::vector<Field> describe(MessageKind kind, ByteView b) {
    std::vector<Field> f;
    switch (kind) {
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
            f.push_back({8, nul - 8, "USERID", quoted(b, 8, nul - 8)});
            f.push_back({nul, 1, "NULL", ""});
            if (socks4a && nul + 1 < b.size()) {
                std::size_t end = b.size() - 1;
                f.push_back(
                    {nul + 1, end - nul - 1, "HOSTNAME", quoted(b, nul + 1, end - nul - 1)});
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
        default:  // the earlier chapters' messages
            return describe_request(message_name(kind), b);
    }
    return f;
}

std::string format_trace(const std::string& peer, bool from_client, MessageKind kind,
                         ByteView bytes) {
    return format_fields(peer, from_client, message_name(kind), bytes, describe(kind, bytes));
}

}  // namespace socks
