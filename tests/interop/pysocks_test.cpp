// Row "PySocks" (Debian python3-socks, with /usr/bin/python3): TCP with the
// proxy resolving names (rdns) and without, with a password, and a UDP
// round trip through UDP ASSOCIATE, whose request names the client's address
// as the domain "0" when rdns is on.
#include <gtest/gtest.h>

#include "interop.hpp"

namespace socks::interop {
namespace {

const std::string kClient = std::string(SOCKS_SOURCE_DIR) + "/tools/pysocks-client";

class PySocks : public testing::Test {
  protected:
    void SetUp() override {
        auto check = run({"/usr/bin/python3", "-c", "import socks"}, {}, {}, 10s);
        ASSERT_EQ(check.exit_code, 0) << "PySocks is required: apt-get install python3-socks\n"
                                      << show(check);
        record_version("python3-socks", {"/usr/bin/python3", "-c",
                                         "import socks; print('PySocks', socks.__version__)"});
    }
    // tools/pysocks-client through `proxy`, with a deadline of its own.
    CommandResult pysocks(const ServerProcess& proxy, std::vector<std::string> args) {
        args.insert(args.begin(), {kClient, "--proxy", proxy.proxy(), "--timeout", "10"});
        return run(args);
    }
};

TEST_F(PySocks, TcpWithRemoteResolution) {
    auto target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto result = pysocks(proxy, {"--rdns", "--send", "ping over rdns", "echo.test", port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 14 bytes: ping over rdns\n");
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "echo.test:" + port},
                               {"reply", "00"},
                               {"up", "14"}}));
}

TEST_F(PySocks, TcpWithLocalResolution) {
    auto target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer);
    // rdns off: PySocks resolves "localhost" itself and sends an IPv4 address.
    auto result = pysocks(proxy, {"--send", "ping", "localhost", port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 4 bytes: ping\n");
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "00"}}));
}

TEST_F(PySocks, TcpWithPassword) {
    auto target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer, {"--user", "u:p"});
    auto result = pysocks(
        proxy, {"--user", "u", "--password", "p", "--send", "authenticated", "127.0.0.1", port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 13 bytes: authenticated\n");
    EXPECT_TRUE(logged(
        proxy,
        {{"user", "u"}, {"cmd", "CONNECT"}, {"target", "127.0.0.1:" + port}, {"reply", "00"}}));
    auto wrong = pysocks(proxy, {"--user", "u", "--password", "x", "127.0.0.1", port});
    EXPECT_EQ(wrong.exit_code, 1) << show(wrong);
}

TEST_F(PySocks, Socks4) {
    auto target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto plain = pysocks(proxy, {"--socks4", "--send", "v4", "127.0.0.1", port});
    EXPECT_EQ(plain.out, "got 2 bytes: v4\n") << show(plain);
    auto named = pysocks(proxy, {"--socks4", "--rdns", "--send", "v4a", "echo.test", port});
    EXPECT_EQ(named.out, "got 3 bytes: v4a\n") << show(named);
    EXPECT_TRUE(
        logged(proxy, {{"proto", "socks4"}, {"target", "127.0.0.1:" + port}, {"reply", "5a"}}));
    EXPECT_TRUE(
        logged(proxy, {{"proto", "socks4a"}, {"target", "echo.test:" + port}, {"reply", "5a"}}));
}

TEST_F(PySocks, UdpRoundTripWithTheDomainZero) {
    UdpEchoTarget target;
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer, {"--trace"});
    // rdns on: the UDP ASSOCIATE request's DST.ADDR is the domain name "0".
    auto result = pysocks(proxy, {"--udp", "--rdns", "--send", "datagram one", "localhost", port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "echo:datagram one");
    Access line;
    EXPECT_TRUE(
        logged(proxy, {{"proto", "socks5"}, {"cmd", "UDP"}, {"reply", "00"}, {"up", "12"}}, &line));
    EXPECT_EQ(line["target"].rfind("0:", 0), 0u) << line.line;
    EXPECT_EQ(line["down"], "17") << line.line;
    EXPECT_NE(line["note"].find("1 datagram up, 1 down, 0 dropped"), std::string::npos)
        << line.line;
    EXPECT_NE(proxy.log().find("03                          ATYP       DOMAINNAME\n"
                               "    01                          LEN        1\n"
                               "    30                          DST.ADDR   0\n"),
              std::string::npos)
        << proxy.log();
    EXPECT_EQ(target.datagrams(), 1);
}

TEST_F(PySocks, UdpRoundTripWithZeros) {
    UdpEchoTarget target;
    std::string port = std::to_string(target.port());
    ServerProcess proxy(kServer);
    // rdns off: DST is 0.0.0.0 and the client's UDP port.
    auto result = pysocks(proxy, {"--udp", "--send", "datagram two", "127.0.0.1", port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "echo:datagram two");
    Access line;
    EXPECT_TRUE(
        logged(proxy, {{"cmd", "UDP"}, {"reply", "00"}, {"up", "12"}, {"down", "17"}}, &line));
    EXPECT_EQ(line["target"].rfind("0.0.0.0:", 0), 0u) << line.line;
}

TEST_F(PySocks, UdpWithPassword) {
    UdpEchoTarget target;
    ServerProcess proxy(kServer, {"--user", "u:p"});
    auto result = pysocks(proxy, {"--udp", "--user", "u", "--password", "p", "--send", "udp auth",
                                  "127.0.0.1", std::to_string(target.port())});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "echo:udp auth");
    EXPECT_TRUE(logged(proxy, {{"user", "u"}, {"cmd", "UDP"}, {"reply", "00"}, {"up", "8"}}));
}

}  // namespace
}  // namespace socks::interop
