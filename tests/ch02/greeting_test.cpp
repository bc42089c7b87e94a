// Chapter 02's pure functions: parse_greeting, choose_method,
// serialize_method_selection, read_message, format_hexdump. No program runs here.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "capture.hpp"
#include "handshake.hpp"
#include "hexdump.hpp"
#include "message.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::hex;
using test::to_hex;

// --- parse_greeting ---------------------------------------------------------

// Every prefix of a valid greeting asks for exactly the bytes the parser can
// know it needs: 2 for VER and NMETHODS, then NMETHODS more. It never asks for
// a byte past the end of the greeting, which is what lets read_message stop
// exactly at the greeting's last byte.
struct Truncation {
    const char* greeting;
    std::size_t prefix;  // bytes given to the parser
    std::size_t need;    // NeedMore it must answer
};

TEST(ParseGreeting, EveryTruncationPointNeedsTheExactMissingCount) {
    const Truncation rows[] = {
        {"05 01 00", 0, 2},       {"05 01 00", 1, 1},       {"05 01 00", 2, 1},
        {"05 02 00 01", 0, 2},    {"05 02 00 01", 1, 1},    {"05 02 00 01", 2, 2},
        {"05 02 00 01", 3, 1},    {"05 03 00 01 02", 0, 2}, {"05 03 00 01 02", 1, 1},
        {"05 03 00 01 02", 2, 3}, {"05 03 00 01 02", 3, 2}, {"05 03 00 01 02", 4, 1},
    };
    for (const Truncation& row : rows) {
        Bytes bytes = hex(row.greeting);
        bytes.resize(row.prefix);
        auto parsed = parse_greeting(bytes);
        const auto* need = std::get_if<NeedMore>(&parsed);
        ASSERT_NE(need, nullptr) << "the first " << row.prefix << " bytes of [" << row.greeting
                                 << "] should give NeedMore{" << row.need
                                 << "}, but the parser decided already";
        EXPECT_EQ(need->bytes, row.need)
            << "the first " << row.prefix << " bytes of [" << row.greeting << "]";
    }
}

TEST(ParseGreeting, ReturnsTheMethodsInTheClientsOrder) {
    auto parsed = parse_greeting(hex("05 03 00 01 02"));
    const auto* greeting = std::get_if<Greeting>(&parsed);
    ASSERT_NE(greeting, nullptr);
    EXPECT_EQ(greeting->methods, (std::vector<std::uint8_t>{0x00, 0x01, 0x02}));
}

TEST(ParseGreeting, OfferOfAll255MethodsIsValid) {
    Bytes bytes{0x05, 0xff};
    for (int m = 0; m < 255; ++m)
        bytes.push_back(static_cast<std::uint8_t>(m));
    Bytes short_by_one(bytes.begin(), bytes.end() - 1);
    auto partial = parse_greeting(short_by_one);
    ASSERT_TRUE(std::holds_alternative<NeedMore>(partial));
    EXPECT_EQ(std::get<NeedMore>(partial).bytes, 1u);
    auto parsed = parse_greeting(bytes);
    ASSERT_TRUE(std::holds_alternative<Greeting>(parsed));
    EXPECT_EQ(std::get<Greeting>(parsed).methods.size(), 255u);
}

struct Malformed {
    const char* what;
    Bytes bytes;
    const char* reason_contains;
};

TEST(ParseGreeting, RejectsWrongVersionAndEmptyOffer) {
    const Malformed rows[] = {
        {"SOCKS4 (VER 04)", hex("04 01 00 00 50 7f 00 00 01 00"), "VER is 04"},
        {"an HTTP request ('G' of GET)", hex("\"GET / HTTP/1.1\\r\\n\""), "VER is 47"},
        {"VER 00", hex("00 01 00"), "VER is 00"},
        {"NMETHODS = 0", hex("05 00"), "NMETHODS is 0"},
        {"NMETHODS = 0 with bytes behind it", hex("05 00 00 01"), "NMETHODS is 0"},
    };
    for (const Malformed& row : rows) {
        auto parsed = parse_greeting(row.bytes);
        const auto* error = std::get_if<ParseError>(&parsed);
        ASSERT_NE(error, nullptr) << row.what << " [" << to_hex(row.bytes)
                                  << "] must be a ParseError";
        EXPECT_NE(error->reason.find(row.reason_contains), std::string::npos)
            << row.what << ": reason was '" << error->reason << "'";
        // RFC 1928 has no reply for a bad greeting: the server just closes.
        EXPECT_FALSE(error->reply.has_value()) << row.what;
    }
}

TEST(ParseGreeting, RejectsAWrongVersionFromItsFirstTwoBytes) {
    // The parser needs two bytes before deciding anything, and no more: it
    // does not wait for a whole HTTP request line before saying no.
    EXPECT_TRUE(std::holds_alternative<NeedMore>(parse_greeting(hex("47"))));
    EXPECT_TRUE(std::holds_alternative<ParseError>(parse_greeting(hex("47 45"))));
}

// --- choose_method ----------------------------------------------------------

struct Choice {
    const char* offer;  // a whole greeting
    bool require_password;
    Method expected;
    const char* why;
};

TEST(ChooseMethod, PicksOnlyFromTheOfferAndNeverNoAuthWhenAPasswordIsRequired) {
    const Choice rows[] = {
        {"05 02 00 01", false, Method::NoAuthentication, "curl on Debian offers 00 and GSSAPI"},
        {"05 01 00", false, Method::NoAuthentication, "ncat and PySocks offer only 00"},
        {"05 02 01 00", false, Method::NoAuthentication, "the order of the offer does not matter"},
        {"05 03 00 01 02", false, Method::NoAuthentication, "no password configured: 00"},
        {"05 03 00 01 02", true, Method::UsernamePassword,
         "curl with --proxy-user still offers 00; the server must pick 02"},
        {"05 02 00 02", true, Method::UsernamePassword, "PySocks with credentials"},
        {"05 02 00 01", true, Method::NoAcceptable, "curl without credentials, password required"},
        {"05 01 00", true, Method::NoAcceptable, "only 00 offered, password required"},
        {"05 01 02", false, Method::NoAcceptable, "only 02 offered, no password configured"},
        {"05 01 01", false, Method::NoAcceptable, "GSSAPI alone is never accepted"},
        {"05 03 99 21 10", false, Method::NoAcceptable, "unknown methods"},
        {"05 03 99 21 10", true, Method::NoAcceptable, "unknown methods"},
    };
    for (const Choice& row : rows) {
        auto parsed = parse_greeting(hex(row.offer));
        ASSERT_TRUE(std::holds_alternative<Greeting>(parsed)) << row.offer;
        Method chosen = choose_method(std::get<Greeting>(parsed), row.require_password);
        EXPECT_EQ(static_cast<int>(chosen), static_cast<int>(row.expected))
            << "greeting [" << row.offer << "], password "
            << (row.require_password ? "required" : "not required") << " (" << row.why
            << "): expected " << method_name(static_cast<std::uint8_t>(row.expected)) << ", got "
            << method_name(static_cast<std::uint8_t>(chosen));
    }
}

TEST(SerializeMethodSelection, IsVersionThenMethod) {
    EXPECT_EQ(to_hex(serialize_method_selection(Method::NoAuthentication)), "05 00");
    EXPECT_EQ(to_hex(serialize_method_selection(Method::UsernamePassword)), "05 02");
    EXPECT_EQ(to_hex(serialize_method_selection(Method::NoAcceptable)), "05 ff");
}

// --- read_message -----------------------------------------------------------

struct SocketPair {
    Fd client, server;
};
SocketPair socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    SocketPair pair{Fd(fds[0]), Fd(fds[1])};
    set_receive_timeout(pair.server, 5s);
    set_receive_timeout(pair.client, 5s);
    return pair;
}

TEST(ReadMessage, LeavesTheBytesBehindTheGreetingInTheSocket) {
    auto [client, server] = socket_pair();
    // What curl does in one write when it pipelines: greeting, then the request.
    write_all(client, hex("05 02 00 01  05 01 00 01 7f 00 00 01 1f 90"));
    Bytes bytes;
    auto greeting = read_message<Greeting>(server, parse_greeting, bytes);
    ASSERT_TRUE(std::holds_alternative<Greeting>(greeting));
    EXPECT_EQ(to_hex(bytes), "05 02 00 01") << "read_message must return exactly the greeting";
    Bytes rest(10);
    ASSERT_TRUE(read_exact(server, rest));
    EXPECT_EQ(to_hex(rest), "05 01 00 01 7f 00 00 01 1f 90")
        << "the request behind the greeting must still be in the socket";
}

TEST(ReadMessage, ReassemblesAGreetingSentOneByteAtATime) {
    auto [client, server] = socket_pair();
    std::thread sender([&client] {
        for (std::uint8_t b : hex("05 03 00 01 02"))
            write_all(client, ByteView(&b, 1));
    });
    Bytes bytes;
    auto greeting = read_message<Greeting>(server, parse_greeting, bytes);
    sender.join();
    ASSERT_TRUE(std::holds_alternative<Greeting>(greeting));
    EXPECT_EQ(std::get<Greeting>(greeting).methods.size(), 3u);
}

TEST(ReadMessage, PeerClosingMidGreetingIsAnError) {
    auto [client, server] = socket_pair();
    write_all(client, hex("05 02 00"));
    client = Fd();
    Bytes bytes;
    auto greeting = read_message<Greeting>(server, parse_greeting, bytes);
    const auto* error = std::get_if<ParseError>(&greeting);
    ASSERT_NE(error, nullptr);
    // 2 bytes were asked for and came, then 2 more, of which 1 came: 3 in all.
    EXPECT_EQ(error->reason, "connection closed after 3 bytes of a message");
}

TEST(ReadMessage, ALoneVersionByteIsCountedWhenThePeerCloses) {
    auto [client, server] = socket_pair();
    write_all(client, hex("05"));  // docs/02-handshake.md, exercise 2
    client = Fd();
    Bytes bytes;
    auto greeting = read_message<Greeting>(server, parse_greeting, bytes);
    const auto* error = std::get_if<ParseError>(&greeting);
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(error->reason, "connection closed after 1 byte of a message");
}

// --- format_hexdump ---------------------------------------------------------

TEST(FormatHexdump, PrintsOffsetHexAndAsciiLikeHexdumpC) {
    EXPECT_EQ(format_hexdump(hex("05 01 00 01 7f 00 00 01 1f 90")),
              "00000000  05 01 00 01 7f 00 00 01  1f 90                    |..........|\n");
    EXPECT_EQ(format_hexdump(hex("\"GET / HTTP/1.1\\r\\nHost\""), 0x10),
              "00000010  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  |GET / HTTP/1.1..|\n"
              "00000020  48 6f 73 74                                       |Host|\n");
    EXPECT_EQ(format_hexdump({}), "");
}

}  // namespace
}  // namespace socks
