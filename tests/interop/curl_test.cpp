// Row "curl": every proxy scheme curl has, with and without credentials
// (including the empty password "user:@"), and an IPv6 literal target.
#include <gtest/gtest.h>

#include "interop.hpp"

namespace socks::interop {
namespace {

const std::string kType = "application/octet-stream";

class Curl : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("curl", "curl"));
        record_version("curl", {"curl", "--version"});
    }
    // A 200 KiB file on local HTTP targets (IPv4 and IPv6), fetched byte for byte.
    std::string body = random_text(200 * 1024, 7);
    test::HttpTarget web{{{"/file.bin", {kType, body}}}};
    test::HttpTarget web6{{{"/file.bin", {kType, body}}}, "::1"};
    std::string port = std::to_string(web.port());
    std::string port6 = std::to_string(web6.port());

    // curl -q (no ~/.curlrc) with a deadline of its own, through `proxy_url`.
    CommandResult fetch(const std::string& proxy_url, const std::string& target) {
        return run({"curl", "-q", "-sS", "--max-time", "15", "-x", proxy_url, target});
    }
    testing::AssertionResult intact(const CommandResult& result) {
        if (result.exit_code != 0) return testing::AssertionFailure() << show(result);
        if (result.out != body) {
            return testing::AssertionFailure()
                   << "body differs: " << result.out.size() << " bytes of " << body.size();
        }
        return testing::AssertionSuccess();
    }
};

TEST_F(Curl, Socks5ResolvesLocallyAndOffersGssapi) {
    ServerProcess proxy(kServer, {"--trace"});
    EXPECT_TRUE(
        intact(fetch("socks5://" + proxy.proxy(), url("127.0.0.1", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"user", "-"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "00"}}));
    // Debian's curl is built with GSS-API and offers it (05 02 00 01); the server picks 00.
    EXPECT_NE(proxy.log().find("00 01                       METHODS    NO AUTHENTICATION "
                               "REQUIRED, GSSAPI"),
              std::string::npos)
        << proxy.log();
}

TEST_F(Curl, Socks5hSendsTheNameForTheServerToResolve) {
    // web.test exists only in the server's --map: curl cannot resolve it.
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(
        intact(fetch("socks5h://" + proxy.proxy(), url("web.test", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "web.test:" + port},
                               {"reply", "00"}}));
}

TEST_F(Curl, Socks4) {
    ServerProcess proxy(kServer);
    EXPECT_TRUE(
        intact(fetch("socks4://" + proxy.proxy(), url("127.0.0.1", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"user", "-"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Curl, Socks4aSendsTheName) {
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(
        intact(fetch("socks4a://" + proxy.proxy(), url("web.test", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4a"},
                               {"cmd", "CONNECT"},
                               {"target", "web.test:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Curl, Socks4UserIdIsLogged) {
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(
        intact(fetch("socks4://bob@" + proxy.proxy(), url("127.0.0.1", web.port(), "/file.bin"))));
    EXPECT_TRUE(
        intact(fetch("socks4a://bob@" + proxy.proxy(), url("web.test", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"user", "userid:bob"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4a"},
                               {"user", "userid:bob"},
                               {"target", "web.test:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Curl, Socks5AndSocks5hWithUserAndPassword) {
    ServerProcess proxy(kServer, {"--user", "alice:secret", "--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(intact(fetch("socks5://alice:secret@" + proxy.proxy(),
                             url("127.0.0.1", web.port(), "/file.bin"))));
    EXPECT_TRUE(intact(fetch("socks5h://alice:secret@" + proxy.proxy(),
                             url("web.test", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(
        proxy,
        {{"user", "alice"}, {"cmd", "CONNECT"}, {"target", "127.0.0.1:" + port}, {"reply", "00"}}));
    EXPECT_TRUE(logged(
        proxy,
        {{"user", "alice"}, {"cmd", "CONNECT"}, {"target", "web.test:" + port}, {"reply", "00"}}));
    // curl offers 00 too, but the server must not take it when --user is set.
    auto anonymous = fetch("socks5h://" + proxy.proxy(), url("web.test", web.port(), "/file.bin"));
    EXPECT_EQ(anonymous.exit_code, 97) << show(anonymous);
    auto wrong = fetch("socks5h://alice:wrong@" + proxy.proxy(), url("web.test", web.port()));
    EXPECT_EQ(wrong.exit_code, 97) << show(wrong);
}

TEST_F(Curl, EmptyPassword) {
    // "alice:@" makes curl send PLEN = 0.
    ServerProcess proxy(kServer, {"--user", "alice:", "--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(intact(
        fetch("socks5h://alice:@" + proxy.proxy(), url("web.test", web.port(), "/file.bin"))));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"user", "alice"},
                               {"cmd", "CONNECT"},
                               {"target", "web.test:" + port},
                               {"reply", "00"}}));
}

TEST_F(Curl, Ipv6LiteralTarget) {
    ServerProcess proxy(kServer);
    const std::string target = url("[::1]", web6.port(), "/file.bin");
    EXPECT_TRUE(intact(fetch("socks5://" + proxy.proxy(), target)));   // ATYP 04
    EXPECT_TRUE(intact(fetch("socks5h://" + proxy.proxy(), target)));  // ATYP 04 as well
    EXPECT_TRUE(intact(fetch("socks4a://" + proxy.proxy(), target)));  // the text "::1" as 4a name
    EXPECT_TRUE(logged(
        proxy,
        {{"proto", "socks5"}, {"cmd", "CONNECT"}, {"target", "[::1]:" + port6}, {"reply", "00"}}));
    EXPECT_TRUE(logged(
        proxy,
        {{"proto", "socks4a"}, {"cmd", "CONNECT"}, {"target", "[::1]:" + port6}, {"reply", "5a"}}));
    // SOCKS4 has only IPv4 addresses: curl refuses before it sends anything.
    auto socks4 = fetch("socks4://" + proxy.proxy(), target);
    EXPECT_EQ(socks4.exit_code, 97) << show(socks4);
    EXPECT_NE(socks4.err.find("not supported"), std::string::npos) << show(socks4);
}

TEST_F(Curl, ProxyOnIpv6Loopback) {
    ServerProcess proxy(kServer, {"--listen", "[::1]:0", "--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(intact(fetch("socks5h://[::1]:" + std::to_string(proxy.port()),
                             url("web.test", web.port(), "/file.bin"))));
    Access line;
    EXPECT_TRUE(logged(proxy, {{"cmd", "CONNECT"}, {"target", "web.test:" + port}, {"reply", "00"}},
                       &line));
    EXPECT_EQ(line["client"].rfind("[::1]:", 0), 0u) << line.line;
}

}  // namespace
}  // namespace socks::interop
