// Shared by the fuzz targets: invariant checks that crash loudly, and
// read_message()'s loop replayed over a buffer instead of a socket.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <variant>

#include "message.hpp"

namespace socks::fuzz {

// A broken invariant is a crash: libFuzzer saves the input, the regression
// runner fails the test.
[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
    std::abort();
}
inline void require(bool ok, const char* what) {
    if (!ok) fail(what);
}

// What read_message() does with a socket, done over `input`: start with no
// bytes, ask the parser, take exactly as many more as it asks for. Returns the
// message or the error, or NeedMore when `input` ends first (the peer closed
// mid-message); `consumed` is how many bytes of `input` were taken.
template <class Message, class Parser>
std::variant<Message, ParseError, NeedMore> feed(Parser parse, ByteView input,
                                                 std::size_t& consumed) {
    consumed = 0;
    for (;;) {
        Parsed<Message> parsed = parse(input.first(consumed));
        if (auto* message = std::get_if<Message>(&parsed)) return std::move(*message);
        if (auto* error = std::get_if<ParseError>(&parsed)) return std::move(*error);
        std::size_t more = std::get<NeedMore>(parsed).bytes;
        // NeedMore{0} would make read_message() loop forever without reading.
        require(more > 0, "parser asked for 0 more bytes");
        if (more > input.size() - consumed) return NeedMore{consumed + more - input.size()};
        consumed += more;
    }
}

// Every proper prefix of a complete message must ask for more, and never for
// more than the message still has: a parser that asks past the end would eat
// the bytes of the next message (the greeting+request-in-one-write bug).
// A prefix may be an error only if the whole message would be one too.
template <class Message, class Parser>
void check_prefixes(Parser parse, ByteView message) {
    for (std::size_t k = 0; k < message.size(); ++k) {
        Parsed<Message> parsed = parse(message.first(k));
        require(!std::holds_alternative<Message>(parsed), "a proper prefix parsed as a message");
        require(!std::holds_alternative<ParseError>(parsed),
                "a prefix of a valid message was rejected");
        std::size_t more = std::get<NeedMore>(parsed).bytes;
        require(more > 0, "parser asked for 0 more bytes");
        require(k + more <= message.size(), "parser asked for bytes past the end of the message");
    }
}

// Once a prefix is an error, every longer input is the same error: a stream
// that was rejected at byte k cannot become valid later.
template <class Message, class Parser>
void check_error_is_final(Parser parse, ByteView input, std::size_t error_at) {
    for (std::size_t k = error_at; k <= input.size() && k < error_at + 16; ++k) {
        Parsed<Message> parsed = parse(input.first(k));
        require(std::holds_alternative<ParseError>(parsed), "a rejected prefix became acceptable");
    }
}

}  // namespace socks::fuzz
