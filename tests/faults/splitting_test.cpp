// Message framing against the real server: every SOCKS message sent one byte
// at a time, and greeting + auth + request + payload coalesced in one write
// (microsocks #105/#106 failed both). The server must answer exactly as if
// each message had arrived whole.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::faults {
namespace {

using test::hex;
using test::to_hex;

const Credentials kAlice{"alice", "secret"};

// Writes `bytes` one byte per send(), with TCP_NODELAY so each is its own segment.
void send_byte_by_byte(const Fd& socket, const Bytes& bytes) {
    int one = 1;
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (std::uint8_t byte : bytes)
        write_all(socket, ByteView(&byte, 1));
}

TEST(FaultsSplitting, EveryMessageOneByteAtATime) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--user", "alice:secret", "--map", "target.test=127.0.0.1"});
    for (bool by_name : {false, true}) {
        Fd client = test::connect_client(proxy.endpoint(), 10s);
        send_byte_by_byte(client, greeting({0x00, 0x01, 0x02}));
        EXPECT_EQ(to_hex(read_up_to(client, 2)), "05 02");
        send_byte_by_byte(client, user_pass("alice", "secret"));
        EXPECT_EQ(to_hex(read_up_to(client, 2)), "01 00");
        send_byte_by_byte(client, by_name ? request_domain("target.test", echo.port())
                                          : request_ipv4("127.0.0.1", echo.port()));
        Reply reply = read_reply(client);
        ASSERT_EQ(reply.code, 0x00) << proxy.log();
        const std::string payload = "payload sent one byte at a time";
        send_byte_by_byte(client, Bytes(payload.begin(), payload.end()));
        Bytes back = read_up_to(client, payload.size());
        EXPECT_EQ(std::string(back.begin(), back.end()), payload);
    }
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port(), kAlice));
}

TEST(FaultsSplitting, Socks4aAndIpv6RequestsOneByteAtATime) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--map", "target.test=127.0.0.1"});

    Fd v4a = test::connect_client(proxy.endpoint(), 10s);
    send_byte_by_byte(v4a, socks4a_request("target.test", echo.port()));
    Bytes answer = read_up_to(v4a, 8);
    ASSERT_EQ(answer.size(), 8u) << proxy.log();
    EXPECT_EQ(answer[0], 0x00);
    EXPECT_EQ(answer[1], 0x5A) << to_hex(answer);
    EXPECT_EQ(round_trip(v4a, "4a"), "4a");

    Fd v6 = test::connect_client(proxy.endpoint(), 10s);
    send_byte_by_byte(v6, greeting({0x00}));
    EXPECT_EQ(to_hex(read_up_to(v6, 2)), "05 00");
    send_byte_by_byte(v6, request_ipv6("::ffff:127.0.0.1", echo.port()));
    EXPECT_EQ(read_reply(v6).code, 0x00) << proxy.log();
    EXPECT_EQ(round_trip(v6, "mapped"), "mapped");
}

TEST(FaultsSplitting, GreetingAuthRequestAndPayloadInOneWrite) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--user", "alice:secret"});
    Fd client = test::connect_client(proxy.endpoint(), 10s);
    const std::string payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    write_all(client, concat({greeting({0x00, 0x01, 0x02}), user_pass("alice", "secret"),
                              request_ipv4("127.0.0.1", echo.port()),
                              Bytes(payload.begin(), payload.end())}));
    EXPECT_EQ(to_hex(read_up_to(client, 4)), "05 02 01 00");
    Reply reply = read_reply(client);
    ASSERT_EQ(reply.code, 0x00) << proxy.log();
    // The payload behind the request was not lost: the echo sends it back.
    Bytes back = read_up_to(client, payload.size());
    EXPECT_EQ(std::string(back.begin(), back.end()), payload);
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port(), kAlice));
}

// The captures of real clients, replayed byte by byte and coalesced against
// chapter 06's program (with the account the capture used, when it has one).
TEST(FaultsSplitting, RealClientCapturesByteByByteAndCoalesced) {
    auto echo = test::echo_target();
    auto echo6 = test::echo_target("::1");
    ServerProcess open_proxy(kServer, {"--map", "localhost=127.0.0.1"});
    ServerProcess auth_proxy(kServer, {"--user", "alice:secret", "--user", "alice:", "--user",
                                       "u:p", "--map", "localhost=127.0.0.1"});
    int replayed = 0;
    for (const std::string& name : test::list_captures("04-")) {
        test::Capture capture = test::load_capture(name);
        bool auth = false, connects = false;
        for (const auto& step : capture.steps) {
            auth |= step.name == "auth";
            connects |= step.name == "reply" && step.kind == test::CaptureStep::Kind::ServerSends &&
                        step.bytes.size() > 1 && step.bytes[1] == 0x00;
        }
        // Only the successful CONNECTs to the test's own target: the failures
        // (closed port, unresolvable name, wrong password) are chapter 04's.
        if (!connects || !test::uses_target_port(capture)) continue;
        bool ipv6 = name.find("ipv6") != std::string::npos;
        const Endpoint& proxy = auth ? auth_proxy.endpoint() : open_proxy.endpoint();
        for (test::Split split : {test::Split::ByteByByte, test::Split::Coalesced}) {
            EXPECT_TRUE(test::replay(capture, proxy, split, ipv6 ? echo6.port() : echo.port()))
                << name << (split == test::Split::ByteByByte ? " byte by byte" : " coalesced");
            ++replayed;
        }
    }
    EXPECT_GE(replayed, 8) << "too few captures replayed";
}

}  // namespace
}  // namespace socks::faults
