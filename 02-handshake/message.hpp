// Reading SOCKS messages from a stream: parsers are pure functions over bytes,
// and read_message() feeds them exactly the bytes they ask for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "net.hpp"

namespace socks {

// The parser needs at least `bytes` more bytes before it can decide.
struct NeedMore {
    std::size_t bytes;
};

// The bytes can never become a valid message. `reply` is the code to send
// before closing, for the messages whose RFC gives one (e.g. 0x08 for an
// unknown address type); without it the connection is simply closed.
struct ParseError {
    std::string reason;
    std::optional<std::uint8_t> reply;
};

// What a parser returns: the message, a request for more bytes, or an error.
// [docs:parsed]
template <class Message>
using Parsed = std::variant<Message, NeedMore, ParseError>;
// [/docs:parsed]

// --trace (fields.hpp) watches every message that read_message() reads and
// send_message() writes, in the thread that set the observer. Without one
// these are plain reads and writes. A plain function object, not a class with
// virtual functions: nothing here needs more, and it is one less thing to get
// wrong.
using MessageObserver = std::function<void(bool from_client, const char* name, ByteView bytes)>;
void set_message_observer(const MessageObserver* observer);  // for this thread; nullptr: none
const MessageObserver* message_observer();

// Writes one whole message (`name` is for the observer: "method-selection", "reply", ...).
void send_message(const Fd& socket, const char* name, ByteView bytes);

// Reads one message from `socket`: starts with no bytes, asks `parse` how many
// more it needs, reads exactly that many, and asks again. It never reads past
// the end of the message, so bytes the client sent right behind it (a request
// behind a greeting, an HTTP request behind a CONNECT) stay in the socket for
// the next read. `bytes` receives exactly the message's bytes.
// Returns the message, or ParseError (also when the peer closes mid-message).
template <class Message, class Parser>
std::variant<Message, ParseError> read_message(const Fd& socket, Parser parse, Bytes& bytes,
                                               const char* name = "message") {
    // BEGIN SOLUTION ch02: ask `parse` how many more bytes it needs, read exactly that many with read_exact, repeat
    bytes.clear();
    for (;;) {
        Parsed<Message> parsed = parse(ByteView(bytes));
        if (auto* message = std::get_if<Message>(&parsed)) {
            if (const MessageObserver* observer = message_observer()) {
                (*observer)(true, name, bytes);
            }
            return std::move(*message);
        }
        if (auto* error = std::get_if<ParseError>(&parsed)) return std::move(*error);
        std::size_t have = bytes.size();
        bytes.resize(have + std::get<NeedMore>(parsed).bytes);
        std::size_t received = 0;
        if (!read_exact(socket, std::span(bytes).subspan(have), &received)) {
            std::size_t got = have + received;  // the partial read counts too
            return ParseError{"connection closed after " + std::to_string(got) +
                                  (got == 1 ? " byte" : " bytes") + " of a message",
                              std::nullopt};
        }
    }
    // END SOLUTION
}

}  // namespace socks
