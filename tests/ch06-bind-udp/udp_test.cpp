// UDP ASSOCIATE through the real socks5-server: PySocks, the header, who may
// send, fragments, the association's lifetime, volume, and the trace.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>

#include "capture.hpp"
#include "process.hpp"
#include "socks_commands.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::ServerProcess;

const char* const kProgram = "06-full-server/socks5-server";

std::string pysocks_client() {
    return std::string(SOCKS_SOURCE_DIR) + "/tools/pysocks-client";
}

TEST(UdpPySocks, RoundTripsWithAndWithoutRemoteDnsAndWithAPassword) {
    ASSERT_TRUE(test::have_program("/usr/bin/python3")) << "/usr/bin/python3 is required";
    test::UdpEcho echo;
    ServerProcess open_proxy(kProgram);
    ServerProcess locked_proxy(kProgram, {"--user", "u:p"});
    std::string port = std::to_string(echo.port());
    struct Case {
        const ServerProcess* proxy;
        std::vector<std::string> extra;
        std::string host;
    } cases[] = {
        {&open_proxy, {}, "127.0.0.1"},          // DST 0.0.0.0, header ATYP 01
        {&open_proxy, {"--rdns"}, "localhost"},  // DST "0", header ATYP 03
        {&locked_proxy, {"--user", "u", "--password", "p"}, "127.0.0.1"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> argv{"/usr/bin/python3", pysocks_client(), "--proxy",
                                      c.proxy->proxy(),   "--udp",          "--send",
                                      "ping over udp"};
        argv.insert(argv.end(), c.extra.begin(), c.extra.end());
        argv.insert(argv.end(), {c.host, port});
        auto result = test::run_command(argv);
        EXPECT_EQ(result.exit_code, 0) << result.err << c.proxy->log();
        EXPECT_EQ(result.out, "ping over udp");
    }
    EXPECT_TRUE(open_proxy.wait_for_log("cmd=UDP target=0:")) << open_proxy.log();  // PySocks' "0"
    EXPECT_TRUE(locked_proxy.wait_for_log("user=u cmd=UDP")) << locked_proxy.log();
}

// An association made by hand: the TCP control connection, the relay's
// address, and a UDP socket of our own that announced itself in the request.
struct Association {
    Fd control;
    Endpoint relay;
    Fd udp;
    int reply = -1;

    Association(const Endpoint& proxy, bool announce_port = true) : udp(test::udp_socket()) {
        std::uint16_t port = announce_port ? local_address(udp).port() : 0;
        control = test::send_socks5_request(proxy, 0x03, test::ipv4_address("0.0.0.0", port));
        test::WireReply answer = test::read_socks5_reply(control);
        reply = answer.code;
        relay = answer.bound;
    }
};

Bytes wrap(std::uint16_t port, ByteView data, std::uint8_t fragment = 0) {
    Bytes datagram{0x00, 0x00, fragment};
    Bytes address = test::ipv4_address("127.0.0.1", port);
    datagram.insert(datagram.end(), address.begin(), address.end());
    datagram.insert(datagram.end(), data.begin(), data.end());
    return datagram;
}

TEST(UdpAssociate, ReplyNamesARealRelayAddress) {
    ServerProcess proxy(kProgram);
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00) << proxy.log();
    EXPECT_EQ(association.relay.host, "127.0.0.1");  // never 0.0.0.0
    EXPECT_NE(association.relay.port, 0);
}

TEST(UdpAssociate, HeaderIsStrippedTowardTheTargetAndAddedTowardTheClient) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    std::string text = "payload";
    test::send_datagram(
        association.udp, association.relay,
        wrap(echo.port(),
             ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
    auto back = test::receive_datagram(association.udp);
    ASSERT_TRUE(back) << proxy.log();
    // RSV RSV FRAG ATYP 127.0.0.1 PORT = the echo's address, then the data as the target sent it.
    Bytes expected = wrap(
        echo.port(), ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    EXPECT_EQ(test::to_hex(*back), test::to_hex(expected));
}

TEST(UdpAssociate, DatagramsFromAnotherHostOrPortAreDropped) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    Bytes datagram = wrap(echo.port(), Bytes{'x'});
    Fd other_host = test::udp_socket("127.0.0.2");
    Fd other_port = test::udp_socket("127.0.0.1");
    test::send_datagram(other_host, association.relay, datagram);
    test::send_datagram(other_port, association.relay, datagram);
    // Then the real client: its echo coming back means the two before it were handled.
    test::send_datagram(association.udp, association.relay, datagram);
    ASSERT_TRUE(test::receive_datagram(association.udp)) << proxy.log();
    EXPECT_EQ(echo.received(), 1);
    association.control = Fd();
    EXPECT_TRUE(proxy.wait_for_log("1 datagram up, 1 down, 2 dropped")) << proxy.log();
}

// The port alone proves nothing: a stranger on another host can send from the
// very port number the client uses. The host must be checked too.
TEST(UdpAssociate, AnotherHostOnTheClientsPortIsDropped) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    Bytes datagram = wrap(echo.port(), Bytes{'x'});
    Fd stranger = test::udp_socket("127.0.0.2", local_address(association.udp).port());
    test::send_datagram(stranger, association.relay, datagram);
    // Then the real client: its echo coming back means the stranger's was handled.
    test::send_datagram(association.udp, association.relay, datagram);
    ASSERT_TRUE(test::receive_datagram(association.udp)) << proxy.log();
    EXPECT_EQ(echo.received(), 1) << "a datagram from 127.0.0.2 reached the target";
    association.control = Fd();
    EXPECT_TRUE(proxy.wait_for_log("1 datagram up, 1 down, 1 dropped")) << proxy.log();
}

TEST(UdpAssociate, AFragmentIsDroppedAndTheAssociationLivesOn) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    test::send_datagram(association.udp, association.relay, wrap(echo.port(), Bytes{'f'}, 0x01));
    test::send_datagram(association.udp, association.relay, wrap(echo.port(), Bytes{'w'}));
    auto back = test::receive_datagram(association.udp);
    ASSERT_TRUE(back) << proxy.log();
    EXPECT_EQ(back->back(), 'w');
    EXPECT_EQ(echo.received(), 1);
}

TEST(UdpAssociate, EndsWithItsTcpConnectionAndReleasesItsDescriptors) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    const int baseline = proxy.open_descriptors();  // before any session
    {
        Association association(proxy.endpoint());
        ASSERT_EQ(association.reply, 0x00);
        test::send_datagram(association.udp, association.relay, wrap(echo.port(), Bytes{'a'}));
        ASSERT_TRUE(test::receive_datagram(association.udp));
        EXPECT_GT(proxy.open_descriptors(), baseline);  // control, relay and outgoing sockets
    }
    EXPECT_TRUE(proxy.wait_for_log("control connection closed")) << proxy.log();
    EXPECT_TRUE(test::eventually([&] { return proxy.open_descriptors() == baseline; }, 10s))
        << proxy.open_descriptors() << " descriptors, baseline " << baseline;
}

TEST(UdpAssociate, TenThousandDatagramsOfMixedSizesArriveIntact) {
    ServerProcess proxy(kProgram);
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    // The largest IPv4 UDP payload is 65507 bytes; the SOCKS header takes 10.
    constexpr std::size_t kLargest = 65507 - 10;
    std::mt19937 random(42);
    std::size_t corrupted = 0;
    for (int i = 0; i < 10000; ++i) {
        std::size_t size = i == 0 ? kLargest : random() % (kLargest + 1);
        if (i % 10 == 1) size = random() % 64;  // plenty of small ones too
        Bytes data(size);
        for (auto& b : data)
            b = static_cast<std::uint8_t>(random());
        Bytes datagram = wrap(echo.port(), data);
        test::send_datagram(association.udp, association.relay, datagram);
        auto back = test::receive_datagram(association.udp);
        if (!back) {  // one is enough to fail; waiting for 9,999 more would take minutes
            ADD_FAILURE() << "datagram " << i << " (" << size << " bytes) did not come back";
            break;
        }
        if (*back != datagram) ++corrupted;
    }
    EXPECT_EQ(corrupted, 0u);
}

TEST(UdpAssociate, RulesApplyToEachDatagramAndToTheAssociation) {
    test::UdpEcho allowed, denied;
    ServerProcess proxy(kProgram, {"--deny", "port=" + std::to_string(denied.port())});
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    test::send_datagram(association.udp, association.relay, wrap(denied.port(), Bytes{'d'}));
    test::send_datagram(association.udp, association.relay, wrap(allowed.port(), Bytes{'a'}));
    ASSERT_TRUE(test::receive_datagram(association.udp));
    EXPECT_EQ(denied.received(), 0);
    EXPECT_EQ(allowed.received(), 1);

    ServerProcess no_udp(kProgram, {"--deny", "cmd=udp"});
    Association refused(no_udp.endpoint());
    EXPECT_EQ(refused.reply, 0x02);
}

TEST(UdpAssociate, TraceShowsTheHeaderFields) {
    ServerProcess proxy(kProgram, {"--trace"});
    test::UdpEcho echo;
    Association association(proxy.endpoint());
    ASSERT_EQ(association.reply, 0x00);
    test::send_datagram(association.udp, association.relay, wrap(echo.port(), Bytes{'h', 'i'}));
    ASSERT_TRUE(test::receive_datagram(association.udp));
    ASSERT_TRUE(proxy.wait_for_log("S> udp-datagram (12 bytes)")) << proxy.log();
    std::string log = proxy.log();
    std::string port = std::to_string(echo.port());
    for (const std::string& line :
         {std::string("C> udp-datagram (12 bytes)"), std::string("00 00                       RSV"),
          std::string("00                          FRAG       0 (whole datagram)"),
          std::string("01                          ATYP       IPv4"),
          std::string("7f 00 00 01                 DST.ADDR   127.0.0.1"),
          std::string("DST.PORT   " + port),
          std::string("68 69                       DATA       2 bytes")}) {
        EXPECT_NE(log.find(line), std::string::npos) << "missing: " << line << "\n" << log;
    }
}

}  // namespace
}  // namespace socks
