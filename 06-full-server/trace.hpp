// --trace: every SOCKS message as annotated hex, field by field. The teaching
// view of a live session.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.hpp"

namespace socks {

enum class MessageKind {
    Greeting,
    MethodSelection,
    UserPass,
    AuthStatus,
    Request,
    Reply,
    Socks4Request,
    Socks4Reply,
    UdpDatagram,
};
const char* message_name(MessageKind kind);  // "greeting", "method-selection", ...
std::optional<MessageKind> message_kind(std::string_view name);

struct Field {
    std::size_t offset, size;
    std::string name;     // "VER", "NMETHODS", ...
    std::string meaning;  // "5", "NO AUTHENTICATION REQUIRED", ...
};

// The fields of a complete, valid message (what the parsers accepted or the
// serializers wrote). PASSWD is never shown, only its length.
std::vector<Field> describe(MessageKind kind, ByteView bytes);

// "127.0.0.1:5555 C> greeting (4 bytes)" then one line per field:
// "    05                 VER        5"
std::string format_trace(const std::string& peer, bool from_client, MessageKind kind,
                         ByteView bytes);

}  // namespace socks
