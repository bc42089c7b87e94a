// Chapter 06's --trace: chapter 02's annotated hex (fields.hpp), with the
// messages only chapter 06 has (SOCKS4, UDP datagrams) and a kind per message
// name; every other message is described by the chapter it belongs to.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fields.hpp"
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

// The fields of a complete, valid message (what the parsers accepted or the
// serializers wrote). PASSWD is never shown, only its length.
std::vector<Field> describe(MessageKind kind, ByteView bytes);

// format_fields() over describe(): "127.0.0.1:5555 C> greeting (4 bytes)", then
// one line per field.
std::string format_trace(const std::string& peer, bool from_client, MessageKind kind,
                         ByteView bytes);

}  // namespace socks
