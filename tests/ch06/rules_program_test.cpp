// --allow / --deny in the running server. A denied request gets REP 02 (or
// CD 5B in SOCKS4) and an access-log line, and reaches nothing; the same
// destination written any other way is denied too.
#include <gtest/gtest.h>
#include <algorithm>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::ch06 {
namespace {

using test::hex;
using test::to_hex;

// REP of a CONNECT with `request` through `proxy`, after a NO AUTH greeting.
// The session is then ended before the next one starts: the client
// half-closes, the echo target answers with its own FIN. (A denied session is
// logged before the server closes; a relayed one may be logged just after.)
int rep(const ServerProcess& proxy, const Bytes& request) {
    auto result = socks5_exchange(proxy.endpoint(), request);
    ::shutdown(result.socket.get(), SHUT_WR);
    EXPECT_TRUE(read_until_close(result.socket).closed) << "the session did not end";
    return result.reply;
}

TEST(RulesProgram, OneDestinationDeniedHoweverItIsWritten) {
    // A live target on 127.0.0.2, so a denial cannot be mistaken for a failed connect.
    RecordingTarget blocked("127.0.0.2");
    auto allowed = test::echo_target("127.0.0.1");
    const std::uint16_t port = blocked.port();
    ServerProcess proxy(kServer, {"--deny", "to=127.0.0.2", "--map", "blocked.test=127.0.0.2",
                                  "--map", "mapped.test=::ffff:127.0.0.2"});
    struct Spelling {
        const char* how;
        Bytes request;
    };
    const std::vector<Spelling> spellings = {
        {"IPv4 (ATYP 01)", socks5_request_ip("127.0.0.2", port)},
        {"IPv4-mapped IPv6 (ATYP 04)", socks5_request_ip("::ffff:127.0.0.2", port)},
        {"a --map name", socks5_request_domain("blocked.test", port)},
        {"the name in mixed case with a trailing dot",
         socks5_request_domain("Blocked.TEST.", port)},
        {"the address as a domain name", socks5_request_domain("127.0.0.2", port)},
        {"the mapped address as a domain name", socks5_request_domain("::ffff:127.0.0.2", port)},
        {"a name mapped to the IPv4-mapped address", socks5_request_domain("mapped.test", port)},
    };
    for (const Spelling& spelling : spellings) {
        auto result = socks5_exchange(proxy.endpoint(), spelling.request);
        EXPECT_EQ(result.reply, 0x02) << spelling.how << ": " << to_hex(result.reply_bytes);
        EXPECT_GE(result.reply_bytes.size(), 10u) << "a failure reply is a whole reply";
        EXPECT_TRUE(read_until_close(result.socket).closed) << spelling.how;
    }
    // SOCKS4 and SOCKS4a are held to the same rules.
    auto v4 = socks4_exchange(proxy.endpoint(), socks4_request("127.0.0.2", port, ""));
    EXPECT_EQ(to_hex(v4.reply).substr(0, 5), "00 5b");
    EXPECT_TRUE(read_until_close(v4.socket).closed);
    auto v4a = socks4_exchange(proxy.endpoint(),
                               socks4_request("0.0.0.1", port, "", std::string("BLOCKED.test.")));
    EXPECT_EQ(to_hex(v4a.reply).substr(0, 5), "00 5b");
    EXPECT_TRUE(read_until_close(v4a.socket).closed);

    auto lines = wait_for_access(proxy, spellings.size() + 2);
    ASSERT_EQ(lines.size(), spellings.size() + 2);
    for (std::size_t i = 0; i < spellings.size(); ++i) {
        EXPECT_TRUE(
            has_fields(lines[i], {{"proto", "socks5"}, {"cmd", "CONNECT"}, {"reply", "02"}}))
            << spellings[i].how;
        EXPECT_NE(lines[i]["note"].find("deny to=127.0.0.2"), std::string::npos) << lines[i].line;
    }
    EXPECT_TRUE(has_fields(lines[spellings.size()], {{"proto", "socks4"}, {"reply", "5b"}}));
    EXPECT_TRUE(has_fields(lines[spellings.size() + 1], {{"proto", "socks4a"}, {"reply", "5b"}}));
    EXPECT_EQ(blocked.connections(), 0) << "a denied destination was reached";

    // Everything else still passes.
    EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", allowed.port())), 0x00);
}

TEST(RulesProgram, CurlSeesReplyTwo) {
    ASSERT_TRUE(installed("curl"));
    test::HttpTarget web({{"/", {"text/plain", "secret page"}}}, "127.0.0.2");
    ServerProcess proxy(kServer, {"--deny", "to=127.0.0.2"});
    auto result = curl({"--socks5", proxy.proxy(), url("127.0.0.2", web.port())});
    EXPECT_EQ(result.exit_code, 97) << show(result);
    EXPECT_NE(result.err.find("(2)"), std::string::npos) << show(result);
    EXPECT_EQ(web.requests(), 0);
}

TEST(RulesProgram, HostRulesCoverSubdomainsInAnySpelling) {
    RecordingTarget target;
    const std::uint16_t port = target.port();
    ServerProcess proxy(kServer,
                        {"--deny", "to=example.test", "--map", "example.test=127.0.0.1", "--map",
                         "www.example.test=127.0.0.1", "--map", "notexample.test=127.0.0.1"});
    for (const char* name : {"example.test", "www.Example.test.", "WWW.EXAMPLE.TEST"}) {
        EXPECT_EQ(rep(proxy, socks5_request_domain(name, port)), 0x02) << name;
    }
    EXPECT_EQ(target.connections(), 0);
    EXPECT_EQ(rep(proxy, socks5_request_domain("notexample.test", port)), 0x00)
        << "a name that merely ends in the same letters is another host";
    auto lines = wait_for_access(proxy, 4);
    ASSERT_EQ(lines.size(), 4u);
    // Each session logs when it ends, so the four lines may arrive in any order.
    const auto mixed = std::find_if(lines.begin(), lines.end(), [&](const auto& line) {
        return has_fields(line, {{"target", "www.Example.test.:" + std::to_string(port)}});
    });
    ASSERT_NE(mixed, lines.end()) << "the log keeps the name as the client spelled it";
    EXPECT_EQ((*mixed)["reply"], "02") << mixed->line;
    EXPECT_NE((*mixed)["note"].find("deny to=example.test"), std::string::npos) << mixed->line;
}

TEST(RulesProgram, ClientNetworkRules) {
    auto echo = test::echo_target();
    {
        ServerProcess proxy(kServer, {"--deny", "from=127.0.0.0/8"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", echo.port())), 0x02);
        EXPECT_NE(access(proxy, 1)["note"].find("deny from=127.0.0.0/8"), std::string::npos);
    }
    {
        ServerProcess proxy(kServer, {"--deny", "from=10.0.0.0/8"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", echo.port())), 0x00);
    }
    {
        // Only loopback IPv4 clients: the same server denies a client coming over ::1.
        ServerProcess proxy(kServer, {"--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--allow",
                                      "from=127.0.0.0/8"});
        ASSERT_EQ(proxy.endpoints().size(), 2u);
        auto over_v4 =
            socks5_exchange(proxy.endpoints()[0], socks5_request_ip("127.0.0.1", echo.port()));
        EXPECT_EQ(over_v4.reply, 0x00);
        auto over_v6 =
            socks5_exchange(proxy.endpoints()[1], socks5_request_ip("127.0.0.1", echo.port()));
        EXPECT_EQ(over_v6.reply, 0x02);
        over_v4.socket = Fd();
        auto lines = wait_for_access(proxy, 2);
        bool saw_v6_denied = false;
        for (const Access& line : lines) {
            if (line["client"].rfind("[::1]:", 0) == 0) {
                saw_v6_denied = true;
                EXPECT_EQ(line["reply"], "02") << line.line;
                EXPECT_NE(line["note"].find("default"), std::string::npos) << line.line;
            }
        }
        EXPECT_TRUE(saw_v6_denied) << proxy.log();
    }
}

TEST(RulesProgram, PortsAndPortRanges) {
    auto first = test::echo_target();
    auto second = test::echo_target();
    const std::uint16_t p1 = first.port(), p2 = second.port();
    ASSERT_NE(p1, p2);
    {
        ServerProcess proxy(kServer, {"--deny", "port=" + std::to_string(p1)});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", p1)), 0x02);
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", p2)), 0x00);
    }
    {
        // A real range that holds p1 and not p2.
        std::string range = p2 > p1 ? "1-" + std::to_string(p1) : std::to_string(p1) + "-65535";
        ServerProcess proxy(kServer, {"--deny", "port=" + range});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", p1)), 0x02) << range;
        EXPECT_EQ(rep(proxy, socks5_request_domain("localhost", p1)), 0x02) << range;
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", p2)), 0x00) << range;
    }
}

TEST(RulesProgram, CommandRules) {
    auto echo = test::echo_target();
    {
        ServerProcess proxy(kServer, {"--deny", "cmd=connect"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", echo.port())), 0x02);
        EXPECT_TRUE(has_fields(access(proxy, 1), {{"cmd", "CONNECT"}, {"reply", "02"}}));
    }
    {
        ServerProcess proxy(kServer, {"--deny", "cmd=bind", "--deny", "cmd=udp"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", echo.port())), 0x00);
    }
}

TEST(RulesProgram, FirstMatchWinsAndTheDefaultFollowsAllowRules) {
    auto first = test::echo_target();
    auto second = test::echo_target();
    const std::string p1 = std::to_string(first.port());
    {
        ServerProcess proxy(kServer,
                            {"--allow", "to=127.0.0.1 port=" + p1, "--deny", "to=127.0.0.0/8"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", first.port())), 0x00);
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", second.port())), 0x02);
    }
    {
        ServerProcess proxy(kServer,
                            {"--deny", "to=127.0.0.0/8", "--allow", "to=127.0.0.1 port=" + p1});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", first.port())), 0x02);
    }
    {
        // Only --deny rules: what they do not match is allowed.
        ServerProcess proxy(kServer, {"--deny", "to=192.0.2.0/24"});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", second.port())), 0x00);
    }
    {
        // An --allow rule exists: what no rule matches is denied.
        ServerProcess proxy(kServer, {"--allow", "port=" + p1});
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", first.port())), 0x00);
        EXPECT_EQ(rep(proxy, socks5_request_ip("127.0.0.1", second.port())), 0x02);
        auto lines = wait_for_access(proxy, 2);
        ASSERT_EQ(lines.size(), 2u);
        const Access& denied = lines[0]["reply"] == "02" ? lines[0] : lines[1];
        EXPECT_TRUE(has_fields(denied, {{"reply", "02"}}));
        EXPECT_NE(denied["note"].find("default"), std::string::npos) << denied.line;
    }
}

}  // namespace
}  // namespace socks::ch06
