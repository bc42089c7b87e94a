// BIND through the real socks5-server: two replies, the expected peer only,
// a deadline, SOCKS4's version, and rules.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "process.hpp"
#include "socks_commands.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::ServerProcess;

const char* const kProgram = "06-full-server/socks5-server";

// A TCP connection to `to` from the local address `from` (127.0.0.x).
Fd connect_from(const std::string& from, const Endpoint& to) {
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
        throw_errno("bind");
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(to.port);
    ::inet_pton(AF_INET, to.host.c_str(), &remote.sin_addr);
    if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0) {
        throw_errno("connect");
    }
    set_receive_timeout(socket, 5s);
    return socket;
}

std::string read_text(const Fd& socket, std::size_t size) {
    std::string text(size, '\0');
    if (!read_exact(socket, std::span(reinterpret_cast<std::uint8_t*>(text.data()), size)))
        return "";
    return text;
}

TEST(Bind, TwoRepliesThenDataFlowsBothWays) {
    ServerProcess proxy(kProgram);
    Fd client =
        test::send_socks5_request(proxy.endpoint(), 0x02, test::ipv4_address("127.0.0.1", 0));
    test::WireReply first = test::read_socks5_reply(client);
    ASSERT_EQ(first.code, 0x00) << proxy.log();
    EXPECT_EQ(first.bound.host, "127.0.0.1");  // the address the client reached us through
    ASSERT_NE(first.bound.port, 0);

    Fd peer = connect_from("127.0.0.1", first.bound);
    test::WireReply second = test::read_socks5_reply(client);
    ASSERT_EQ(second.code, 0x00);
    SocketAddress peer_local = local_address(peer);
    EXPECT_EQ(second.bound.host, peer_local.host());  // who connected
    EXPECT_EQ(second.bound.port, peer_local.port());

    write_all(client, std::string_view("from the client"));
    EXPECT_EQ(read_text(peer, 15), "from the client");
    write_all(peer, std::string_view("from the peer"));
    EXPECT_EQ(read_text(client, 13), "from the peer");
    client = Fd();
    peer = Fd();
    EXPECT_TRUE(proxy.wait_for_log("cmd=BIND target=127.0.0.1:0 reply=00 up=15 down=13"))
        << proxy.log();
}

TEST(Bind, OnlyTheExpectedHostMayConnect) {
    ServerProcess proxy(kProgram);
    Fd client =
        test::send_socks5_request(proxy.endpoint(), 0x02, test::ipv4_address("127.0.0.2", 0));
    test::WireReply first = test::read_socks5_reply(client);
    ASSERT_EQ(first.code, 0x00) << proxy.log();

    // 127.0.0.1 is not the host the client named: the server hangs up on it.
    Fd intruder = connect_from("127.0.0.1", first.bound);
    std::uint8_t byte;
    std::size_t got = 1;
    try {
        got = read_some(intruder, std::span(&byte, 1));
    } catch (const std::system_error& error) {
        got = error.code().value() == ECONNRESET ? 0 : 1;
    }
    EXPECT_EQ(got, 0u) << "the wrong peer was not refused";
    EXPECT_TRUE(proxy.wait_for_log("refused 127.0.0.1:")) << proxy.log();

    // The named host still gets through afterwards.
    Fd peer = connect_from("127.0.0.2", first.bound);
    test::WireReply second = test::read_socks5_reply(client);
    ASSERT_EQ(second.code, 0x00);
    EXPECT_EQ(second.bound.host, "127.0.0.2");
    write_all(peer, std::string_view("ok"));
    EXPECT_EQ(read_text(client, 2), "ok");
}

TEST(Bind, NobodyComingEndsWithAFailureReply) {
    ServerProcess proxy(kProgram, {"--bind-timeout", "0.3"});
    Fd client =
        test::send_socks5_request(proxy.endpoint(), 0x02, test::ipv4_address("127.0.0.1", 0));
    ASSERT_EQ(test::read_socks5_reply(client).code, 0x00);
    test::WireReply second = test::read_socks5_reply(client);  // within the 5 s read timeout
    EXPECT_EQ(second.code, 0x04);
    std::uint8_t byte;
    EXPECT_EQ(read_some(client, std::span(&byte, 1)), 0u);  // then the server closes
    EXPECT_TRUE(proxy.wait_for_log("nobody connected within the bind timeout")) << proxy.log();
}

TEST(Bind, ClientLeavingWhileWaitingReleasesEverything) {
    ServerProcess proxy(kProgram);
    const int baseline = proxy.open_descriptors();  // before any session
    {
        Fd client =
            test::send_socks5_request(proxy.endpoint(), 0x02, test::ipv4_address("127.0.0.1", 0));
        ASSERT_EQ(test::read_socks5_reply(client).code, 0x00);
    }  // gone before anyone connected
    EXPECT_TRUE(proxy.wait_for_log("cmd=BIND")) << proxy.log();
    EXPECT_TRUE(test::eventually([&] { return proxy.open_descriptors() == baseline; }, 10s))
        << proxy.open_descriptors() << " descriptors, baseline " << baseline;
}

TEST(Bind, Socks4BindSendsTwoGrantedReplies) {
    ServerProcess proxy(kProgram);
    Fd client = test::connect_client(proxy.endpoint());
    // VN 04, CD 02 BIND, DSTPORT 0, DSTIP 127.0.0.1, USERID "ftp", NUL
    write_all(client, Bytes{0x04, 0x02, 0x00, 0x00, 0x7f, 0x00, 0x00, 0x01, 'f', 't', 'p', 0x00});
    test::WireReply first = test::read_socks4_reply(client);
    ASSERT_EQ(first.code, 0x5A) << proxy.log();
    ASSERT_NE(first.bound.port, 0);
    Fd peer = connect_from("127.0.0.1", {"127.0.0.1", first.bound.port});
    test::WireReply second = test::read_socks4_reply(client);
    EXPECT_EQ(second.code, 0x5A);
    EXPECT_EQ(second.bound.port, local_address(peer).port());
    write_all(peer, std::string_view("data"));
    EXPECT_EQ(read_text(client, 4), "data");
    client = Fd();
    peer = Fd();
    EXPECT_TRUE(proxy.wait_for_log("proto=socks4 user=userid:ftp cmd=BIND")) << proxy.log();
}

TEST(Bind, RulesApplyToBind) {
    ServerProcess proxy(kProgram, {"--deny", "cmd=bind"});
    Fd client =
        test::send_socks5_request(proxy.endpoint(), 0x02, test::ipv4_address("127.0.0.1", 0));
    EXPECT_EQ(test::read_socks5_reply(client).code, 0x02);
    EXPECT_TRUE(proxy.wait_for_log("denied by rule 'deny cmd=bind'")) << proxy.log();
}

}  // namespace
}  // namespace socks
