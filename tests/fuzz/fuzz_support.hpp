// Shared by the fuzz targets: invariant checks that crash loudly, and the real
// read_message() fed from a buffer through a socket pair.
#pragma once

#include <sys/socket.h>

#include <algorithm>
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

// The real read_message() over a socket pair whose other end holds `input` and
// is then shut down. Returns the message or the error, or NeedMore when `input`
// ends first (the peer closed mid-message); `consumed` is how many bytes of
// `input` the parser was given when it decided (or when the input ended).
template <class Message, class Parser>
std::variant<Message, ParseError, NeedMore> feed(Parser parse, ByteView input,
                                                 std::size_t& consumed) {
    // Every message is under 1 KiB: past 64 KiB the end of the input is never reached.
    input = input.first(std::min<std::size_t>(input.size(), 65536));
    int fds[2];
    require(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0, "socketpair failed");
    Fd reader(fds[0]), writer(fds[1]);
    int size = 1 << 18;
    ::setsockopt(writer.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    write_all(writer, input);
    ::shutdown(writer.get(), SHUT_WR);
    std::size_t asked = 0;  // what the last NeedMore asked for; 0 once the parser decided
    auto watched = [&](ByteView bytes) {
        Parsed<Message> parsed = parse(bytes);
        consumed = bytes.size();
        asked = 0;
        if (auto* more = std::get_if<NeedMore>(&parsed)) {
            // NeedMore{0} would make read_message() loop forever without reading.
            require(more->bytes > 0, "parser asked for 0 more bytes");
            asked = more->bytes;
        }
        return parsed;
    };
    Bytes bytes;
    auto result = read_message<Message>(reader, watched, bytes);
    if (auto* message = std::get_if<Message>(&result)) return std::move(*message);
    if (asked > 0) return NeedMore{consumed + asked - input.size()};
    return std::move(std::get<ParseError>(result));
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
