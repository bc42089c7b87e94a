// SOCKS4 and SOCKS4a on the SOCKS5 port, byte by byte: the reply format
// (VN 00, CD 5A/5B), USERID in the log, 4a names resolved by the server, and
// no SOCKS4 at all when passwords are required (it has no way to send one).
#include <gtest/gtest.h>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::ch06 {
namespace {

using test::hex;
using test::to_hex;

TEST(Socks4, GrantedReplyCarriesTheOutgoingAddressAndTheSessionRelays) {
    RecordingTarget target;
    ServerProcess proxy(kServer);
    auto session =
        socks4_exchange(proxy.endpoint(), socks4_request("127.0.0.1", target.port(), ""));
    ASSERT_EQ(session.reply.size(), 8u) << to_hex(session.reply) << "\n" << proxy.log();
    EXPECT_EQ(session.reply[0], 0x00) << "VN of a reply is 0, not 4";
    EXPECT_EQ(session.reply[1], 0x5A) << to_hex(session.reply);
    EXPECT_EQ(echo_round_trip(session.socket, "four"), "four");
    // DSTPORT/DSTIP: where the server's outgoing connection comes from.
    ASSERT_EQ(target.connections(), 1);
    SocketAddress seen = target.peers().front();
    EXPECT_EQ(session.reply[2] << 8 | session.reply[3], seen.port()) << to_hex(session.reply);
    EXPECT_EQ(to_hex(ByteView(session.reply).subspan(4)), "7f 00 00 01");
    session.socket = Fd();
    EXPECT_TRUE(
        has_fields(access(proxy, 1), {{"proto", "socks4"},
                                      {"user", "-"},
                                      {"cmd", "CONNECT"},
                                      {"target", "127.0.0.1:" + std::to_string(target.port())},
                                      {"reply", "5a"},
                                      {"up", "4"},
                                      {"down", "4"}}));
}

TEST(Socks4, UserIdAppearsInTheAccessLog) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer);
    auto session =
        socks4_exchange(proxy.endpoint(), socks4_request("127.0.0.1", echo.port(), "bob"));
    ASSERT_EQ(to_hex(ByteView(session.reply).first(std::min<std::size_t>(2, session.reply.size()))),
              "00 5a");
    session.socket = Fd();
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks4"}, {"user", "userid:bob"}}));
}

TEST(Socks4, SocksFourAIsResolvedByTheServer) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--map", "Echo.Test=127.0.0.1"});
    std::string port = std::to_string(echo.port());
    // 0.0.0.1 means "the name follows"; a server without 4a would dial 0.0.0.1.
    for (const std::string name : {"localhost", "echo.test", "ECHO.test."}) {
        auto session = socks4_exchange(proxy.endpoint(),
                                       socks4_request("0.0.0.1", echo.port(), "carol", name));
        ASSERT_EQ(session.reply.size(), 8u) << name << "\n" << proxy.log();
        EXPECT_EQ(session.reply[1], 0x5A) << name << ": " << to_hex(session.reply);
        EXPECT_EQ(echo_round_trip(session.socket, name), name);
    }
    auto lines = wait_for_access(proxy, 3);
    ASSERT_EQ(lines.size(), 3u);
    std::set<std::string> targets;
    for (const Access& line : lines) {
        EXPECT_TRUE(
            has_fields(line, {{"proto", "socks4a"}, {"user", "userid:carol"}, {"reply", "5a"}}));
        targets.insert(line["target"]);
    }
    EXPECT_EQ(targets, (std::set<std::string>{"localhost:" + port, "echo.test:" + port,
                                              "ECHO.test.:" + port}));
}

TEST(Socks4, UnresolvableNameIsRejected) {
    ServerProcess proxy(kServer);
    auto session =
        socks4_exchange(proxy.endpoint(), socks4_request("0.0.0.1", 80, "", "nowhere.invalid"));
    EXPECT_EQ(to_hex(ByteView(session.reply).first(std::min<std::size_t>(2, session.reply.size()))),
              "00 5b");
    EXPECT_TRUE(read_until_close(session.socket).closed);
    EXPECT_TRUE(
        has_fields(access(proxy, 1),
                   {{"proto", "socks4a"}, {"target", "nowhere.invalid:80"}, {"reply", "5b"}}));
}

TEST(Socks4, RefusedWhenPasswordsAreRequired) {
    RecordingTarget target;
    ServerProcess proxy(kServer, {"--user", "alice:secret"});
    for (const auto& request : {socks4_request("127.0.0.1", target.port(), "alice"),
                                socks4_request("0.0.0.1", target.port(), "alice", "localhost")}) {
        auto session = socks4_exchange(proxy.endpoint(), request);
        EXPECT_EQ(to_hex(session.reply).substr(0, 5), "00 5b") << proxy.log();
        EXPECT_TRUE(read_until_close(session.socket).closed) << "the server keeps the client";
    }
    auto lines = wait_for_access(proxy, 2);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(has_fields(lines[0], {{"proto", "socks4"}, {"reply", "5b"}, {"up", "0"}}));
    EXPECT_TRUE(has_fields(lines[1], {{"proto", "socks4a"}, {"reply", "5b"}, {"up", "0"}}));
    for (const Access& line : lines)
        EXPECT_NE(line["note"].find("--user"), std::string::npos) << line.line;
    EXPECT_EQ(target.connections(), 0) << "SOCKS4 went around --user";
    // SOCKS5 with the password still works on the same port.
    auto five =
        socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", target.port()),
                        hex("05 01 02"), std::pair<std::string, std::string>{"alice", "secret"});
    EXPECT_EQ(five.reply, 0x00);
}

TEST(Socks4, CurlSocks4IsRefusedWhenPasswordsAreRequired) {
    ASSERT_TRUE(installed("curl"));
    test::HttpTarget web({{"/", {"text/plain", "hello"}}});
    ServerProcess proxy(kServer, {"--user", "alice:secret"});
    auto result = curl({"--socks4", proxy.proxy(), url("127.0.0.1", web.port())});
    EXPECT_EQ(result.exit_code, 97) << show(result);
    EXPECT_EQ(web.requests(), 0);
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks4"}, {"reply", "5b"}}));
}

TEST(Socks4, SplitAndCoalescedRequestsAreReassembled) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    Bytes request = socks4_request("0.0.0.1", echo.port(), "dave", std::string("echo.test"));
    // One byte per write: the server must not take a partial USERID or name.
    Fd slow = test::connect_client(proxy.endpoint());
    for (std::uint8_t b : request)
        write_all(slow, ByteView(&b, 1));
    Bytes reply(8);
    ASSERT_TRUE(read_exact(slow, reply));
    EXPECT_EQ(reply[1], 0x5A) << to_hex(reply);
    EXPECT_EQ(echo_round_trip(slow, "slow"), "slow");
    // Request and data in one write: the data must reach the target, not the parser.
    Fd fast = test::connect_client(proxy.endpoint());
    Bytes both = request;
    both.insert(both.end(), {'d', 'a', 't', 'a'});
    write_all(fast, both);
    ASSERT_TRUE(read_exact(fast, reply));
    EXPECT_EQ(reply[1], 0x5A) << to_hex(reply);
    Bytes echoed(4);
    ASSERT_TRUE(read_exact(fast, echoed));
    EXPECT_EQ(to_hex(echoed), to_hex(hex("\"data\"")));
}

}  // namespace
}  // namespace socks::ch06
