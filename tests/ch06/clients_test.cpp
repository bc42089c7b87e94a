// The real clients users run, through the real socks5-server, to local
// targets: curl (SOCKS5, SOCKS5 with remote names, SOCKS4, SOCKS4a,
// passwords), ncat and PySocks. Each checks the bytes that arrive and the
// access-log line the operator reads.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace socks::ch06 {
namespace {

const std::string kType = "application/octet-stream";

// A file of 300 KiB on a local HTTP target, for byte-identical checks.
struct Web {
    std::string body = random_text(300 * 1024, 6);
    test::HttpTarget target{{{"/file.bin", {kType, body}}}};
    std::string port() const { return std::to_string(target.port()); }
    std::string file(const std::string& host) const {
        return url(host, target.port(), "/file.bin");
    }
};

// Checks a fetched body without printing 300 KiB on failure.
testing::AssertionResult same_body(const CommandResult& result, const std::string& body) {
    if (result.exit_code != 0) return testing::AssertionFailure() << show(result);
    if (result.out != body) {
        return testing::AssertionFailure() << "body differs: " << result.out.size() << " bytes, "
                                           << body.size() << " expected; stderr: " << result.err;
    }
    return testing::AssertionSuccess();
}

TEST(Curl, Socks5ByAddress) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer);
    EXPECT_TRUE(same_body(curl({"--socks5", proxy.proxy(), web.file("127.0.0.1")}), web.body));
    Access line = access(proxy, 1);
    EXPECT_TRUE(has_fields(line, {{"proto", "socks5"},
                                  {"user", "-"},
                                  {"cmd", "CONNECT"},
                                  {"target", "127.0.0.1:" + web.port()},
                                  {"reply", "00"},
                                  {"down", std::to_string(http_response_size(kType, web.body))}}));
    EXPECT_NE(line["up"], "0") << line.line;
    EXPECT_EQ(line["client"].rfind("127.0.0.1:", 0), 0u) << line.line;
}

TEST(Curl, Socks5HostnameIsResolvedByTheServer) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    // web.test exists only in the server's --map: curl cannot resolve it itself.
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(
        same_body(curl({"--socks5-hostname", proxy.proxy(), web.file("web.test")}), web.body));
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                              {"user", "-"},
                                              {"cmd", "CONNECT"},
                                              {"target", "web.test:" + web.port()},
                                              {"reply", "00"}}));
    // The same through the socks5h:// proxy URL form.
    EXPECT_TRUE(
        same_body(curl({"-x", "socks5h://" + proxy.proxy(), web.file("web.test")}), web.body));
    EXPECT_TRUE(has_fields(access(proxy, 2), {{"target", "web.test:" + web.port()}}));
}

TEST(Curl, Socks4) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer);
    EXPECT_TRUE(same_body(curl({"--socks4", proxy.proxy(), web.file("127.0.0.1")}), web.body));
    Access line = access(proxy, 1);
    EXPECT_TRUE(has_fields(line, {{"proto", "socks4"},
                                  {"user", "-"},
                                  {"cmd", "CONNECT"},
                                  {"target", "127.0.0.1:" + web.port()},
                                  {"reply", "5a"},
                                  {"down", std::to_string(http_response_size(kType, web.body))}}));
}

TEST(Curl, Socks4WithUserIdLogsIt) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer);
    // socks4://bob@P sends USERID "bob" (no password: SOCKS4 has none).
    EXPECT_TRUE(
        same_body(curl({"-x", "socks4://bob@" + proxy.proxy(), web.file("127.0.0.1")}), web.body));
    EXPECT_TRUE(has_fields(access(proxy, 1),
                           {{"proto", "socks4"}, {"user", "userid:bob"}, {"reply", "5a"}}));
}

TEST(Curl, Socks4aHostnameIsResolvedByTheServer) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    EXPECT_TRUE(same_body(curl({"--socks4a", proxy.proxy(), web.file("web.test")}), web.body));
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks4a"},
                                              {"user", "-"},
                                              {"cmd", "CONNECT"},
                                              {"target", "web.test:" + web.port()},
                                              {"reply", "5a"}}));
}

TEST(Curl, ProxyUserAuthenticates) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer, {"--user", "alice:secret", "--user", "bob:other"});
    EXPECT_TRUE(same_body(curl({"--socks5-hostname", proxy.proxy(), "--proxy-user", "alice:secret",
                                web.file("localhost")}),
                          web.body));
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                              {"user", "alice"},
                                              {"cmd", "CONNECT"},
                                              {"target", "localhost:" + web.port()},
                                              {"reply", "00"}}));
    // --socks5 (ATYP 01) with the password in the proxy URL.
    EXPECT_TRUE(same_body(
        curl({"-x", "socks5://bob:other@" + proxy.proxy(), web.file("127.0.0.1")}), web.body));
    EXPECT_TRUE(
        has_fields(access(proxy, 2), {{"user", "bob"}, {"target", "127.0.0.1:" + web.port()}}));
}

TEST(Curl, EmptyPassword) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer, {"--user", "alice:"});
    // socks5h://alice:@ sends PLEN = 0.
    EXPECT_TRUE(same_body(curl({"-x", "socks5h://alice:@" + proxy.proxy(), web.file("localhost")}),
                          web.body));
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                              {"user", "alice"},
                                              {"target", "localhost:" + web.port()},
                                              {"reply", "00"}}));
}

TEST(Curl, WrongPasswordFailsAndReachesNothing) {
    ASSERT_TRUE(installed("curl"));
    Web web;
    ServerProcess proxy(kServer, {"--user", "alice:secret"});
    for (const char* credentials : {"alice:wrong", "alice:", "mallory:secret"}) {
        auto result = curl({"--socks5-hostname", proxy.proxy(), "--proxy-user", credentials,
                            web.file("localhost")});
        EXPECT_EQ(result.exit_code, 97) << credentials << ": " << show(result);
    }
    // Without credentials curl offers only NO AUTH, which the server must refuse.
    auto none = curl({"--socks5-hostname", proxy.proxy(), web.file("localhost")});
    EXPECT_EQ(none.exit_code, 97) << show(none);
    auto lines = wait_for_access(proxy, 4);
    // The name each failed login tried; the last offered no password at all.
    const char* tried[] = {"tried:alice", "tried:alice", "tried:mallory", "-"};
    for (std::size_t i = 0; i < lines.size() && i < 4; ++i) {
        const Access& line = lines[i];
        EXPECT_TRUE(has_fields(line, {{"proto", "socks5"},
                                      {"user", tried[i]},
                                      {"cmd", "-"},
                                      {"target", "-"},
                                      {"reply", "-"},
                                      {"up", "0"},
                                      {"down", "0"}}));
        EXPECT_NE(line["note"], "(missing)") << line.line;
    }
    EXPECT_EQ(web.target.requests(), 0) << "the target was reached without a password";
    EXPECT_EQ(proxy.log().find("secret"), std::string::npos) << "a password in the log";
}

TEST(Curl, BothRelayKindsCarryTheBodyIntact) {
    ASSERT_TRUE(installed("curl"));
    // Large enough that the splice relay switches from copying to splice(2).
    std::string body = random_text(4 << 20, 8);
    test::HttpTarget web({{"/big.bin", {kType, body}}});
    for (const char* kind : {"splice", "copy"}) {
        ServerProcess proxy(kServer, {"--relay", kind});
        auto result = curl({"--socks5", proxy.proxy(), url("127.0.0.1", web.port(), "/big.bin")});
        EXPECT_TRUE(same_body(result, body)) << "--relay " << kind;
        EXPECT_TRUE(has_fields(
            access(proxy, 1),
            {{"reply", "00"}, {"down", std::to_string(http_response_size(kType, body))}}))
            << "--relay " << kind;
    }
}

TEST(Ncat, Socks5CarriesBothDirectionsIntact) {
    ASSERT_TRUE(installed("ncat"));
    auto echo = test::echo_target();
    ServerProcess proxy(kServer);
    std::string text = random_text(200 * 1024, 7);
    std::string port = std::to_string(echo.port());
    // ncat sends stdin, half-closes at its end, and prints what comes back.
    auto result =
        ncat({"--proxy", proxy.proxy(), "--proxy-type", "socks5", "127.0.0.1", port}, text);
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == text)
        << "echo differs: " << result.out.size() << " of " << text.size() << " bytes";
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                              {"user", "-"},
                                              {"cmd", "CONNECT"},
                                              {"target", "127.0.0.1:" + port},
                                              {"reply", "00"},
                                              {"up", std::to_string(text.size())},
                                              {"down", std::to_string(text.size())}}));
}

TEST(Ncat, Socks4) {
    ASSERT_TRUE(installed("ncat"));
    auto echo = test::echo_target();
    ServerProcess proxy(kServer);
    std::string port = std::to_string(echo.port());
    auto result = ncat({"--proxy", proxy.proxy(), "--proxy-type", "socks4", "127.0.0.1", port},
                       "hello over socks4\n");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "hello over socks4\n");
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks4"},
                                              {"cmd", "CONNECT"},
                                              {"target", "127.0.0.1:" + port},
                                              {"reply", "5a"},
                                              {"up", "18"},
                                              {"down", "18"}}));
}

TEST(Ncat, ProxyAuth) {
    ASSERT_TRUE(installed("ncat"));
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--user", "u:p", "--map", "echo.test=127.0.0.1"});
    std::string port = std::to_string(echo.port());
    auto result = ncat({"--proxy", proxy.proxy(), "--proxy-type", "socks5", "--proxy-auth", "u:p",
                        "--proxy-dns", "remote", "echo.test", port},
                       "authenticated\n");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "authenticated\n");
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                              {"user", "u"},
                                              {"cmd", "CONNECT"},
                                              {"target", "echo.test:" + port},
                                              {"reply", "00"}}));
    auto wrong = ncat({"--proxy", proxy.proxy(), "--proxy-type", "socks5", "--proxy-auth", "u:x",
                       "127.0.0.1", port},
                      "should not arrive\n");
    EXPECT_NE(wrong.exit_code, 0) << show(wrong);
    EXPECT_EQ(wrong.out, "");
    EXPECT_TRUE(has_fields(access(proxy, 2), {{"user", "tried:u"}, {"reply", "-"}, {"up", "0"}}));
}

TEST(PySocks, AddressNameAndPassword) {
    ASSERT_TRUE(installed("/usr/bin/python3"));
    auto echo = test::echo_target();
    std::string port = std::to_string(echo.port());
    {
        ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
        // rdns off: PySocks sends the address (ATYP 01).
        auto by_address =
            pysocks({"--proxy", proxy.proxy(), "--send", "by address", "127.0.0.1", port});
        EXPECT_EQ(by_address.exit_code, 0) << show(by_address);
        EXPECT_EQ(by_address.out, "by address");
        EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                                  {"user", "-"},
                                                  {"cmd", "CONNECT"},
                                                  {"target", "127.0.0.1:" + port},
                                                  {"reply", "00"},
                                                  {"up", "10"},
                                                  {"down", "10"}}));
        // rdns on: the name goes to the server (ATYP 03), which knows it from --map.
        auto by_name =
            pysocks({"--proxy", proxy.proxy(), "--rdns", "--send", "by name", "echo.test", port});
        EXPECT_EQ(by_name.exit_code, 0) << show(by_name);
        EXPECT_EQ(by_name.out, "by name");
        EXPECT_TRUE(has_fields(access(proxy, 2),
                               {{"target", "echo.test:" + port}, {"reply", "00"}, {"up", "7"}}));
    }
    {
        ServerProcess proxy(kServer, {"--user", "u:p"});
        auto with_password = pysocks({"--proxy", proxy.proxy(), "--user", "u", "--password", "p",
                                      "--send", "with password", "127.0.0.1", port});
        EXPECT_EQ(with_password.exit_code, 0) << show(with_password);
        EXPECT_EQ(with_password.out, "with password");
        EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks5"},
                                                  {"user", "u"},
                                                  {"target", "127.0.0.1:" + port},
                                                  {"reply", "00"}}));
        auto wrong = pysocks({"--proxy", proxy.proxy(), "--user", "u", "--password", "x", "--send",
                              "nope", "127.0.0.1", port});
        EXPECT_EQ(wrong.exit_code, 1) << show(wrong);
        EXPECT_TRUE(has_fields(access(proxy, 2), {{"user", "tried:u"}, {"reply", "-"}}));
    }
}

TEST(PySocks, Socks4) {
    ASSERT_TRUE(installed("/usr/bin/python3"));
    auto echo = test::echo_target();
    std::string port = std::to_string(echo.port());
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto v4 = pysocks({"--proxy", proxy.proxy(), "--socks4", "--send", "four", "127.0.0.1", port});
    EXPECT_EQ(v4.exit_code, 0) << show(v4);
    EXPECT_EQ(v4.out, "four");
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"proto", "socks4"}, {"reply", "5a"}}));
    auto v4a = pysocks(
        {"--proxy", proxy.proxy(), "--socks4", "--rdns", "--send", "four a", "echo.test", port});
    EXPECT_EQ(v4a.exit_code, 0) << show(v4a);
    EXPECT_EQ(v4a.out, "four a");
    EXPECT_TRUE(
        has_fields(access(proxy, 2),
                   {{"proto", "socks4a"}, {"target", "echo.test:" + port}, {"reply", "5a"}}));
}

}  // namespace
}  // namespace socks::ch06
