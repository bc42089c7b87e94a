// Real clients against the real socks5-request program: curl, PySocks and ncat.
// Chapter 04 replies and then closes (no relay yet), so a successful CONNECT
// looks to curl like an HTTP server that hung up: "(52) Empty reply from server".
#include <gtest/gtest.h>

#include "helpers.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::CommandResult;
using test::ServerProcess;

std::string show(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + (result.timed_out ? " (timed out)" : "") +
           "\nstdout: " + result.out + "\nstderr: " + result.err;
}

// curl, never reading ~/.curlrc (-q) and blind to proxy variables from the
// environment, which could send it elsewhere or bypass our proxy.
CommandResult curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"env",        "-u",   "ALL_PROXY", "-u",  "all_proxy",  "-u",
                                  "NO_PROXY",   "-u",   "no_proxy",  "-u",  "HTTP_PROXY", "-u",
                                  "http_proxy", "curl", "-q",        "-sS", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, {}, 20s);
}

std::string url(const std::string& host, std::uint16_t port) {
    return "http://" + host + ":" + std::to_string(port) + "/";
}

void require(const std::string& tool) {
    ASSERT_TRUE(test::have_program(tool))
        << tool << " is required for this test (see .ci/run for the Debian packages)";
}

TEST(RequestCurl, Socks5Ipv4ConnectsThenGetsAnEmptyReply) {
    require("curl");
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    auto result = curl({"--socks5", server.proxy(), url("127.0.0.1", target.port())});
    EXPECT_EQ(result.exit_code, 52) << show(result);
    EXPECT_NE(result.err.find("(52) Empty reply from server"), std::string::npos) << show(result);
    EXPECT_TRUE(server.wait_for_log(
        "CONNECT 127.0.0.1:" + std::to_string(target.port()) + ": succeeded", 5s))
        << server.log();
}

TEST(RequestCurl, Socks5HostnameLetsTheServerResolveLocalhost) {
    require("curl");
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    auto result = curl({"--socks5-hostname", server.proxy(), url("localhost", target.port())});
    EXPECT_EQ(result.exit_code, 52) << show(result);
    EXPECT_TRUE(server.wait_for_log(
        "CONNECT localhost:" + std::to_string(target.port()) + ": succeeded", 5s))
        << server.log();
}

TEST(RequestCurl, Ipv6Target) {
    require("curl");
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target("::1");
    auto result = curl({"--socks5", server.proxy(), url("[::1]", target.port())});
    EXPECT_EQ(result.exit_code, 52) << show(result);
    EXPECT_TRUE(server.wait_for_log(
        "CONNECT [::1]:" + std::to_string(target.port()) + ": succeeded via [::1]:", 5s))
        << server.log();
}

TEST(RequestCurl, ProxyUserAuthenticatesThenConnects) {
    require("curl");
    ServerProcess server(test::kRequestProgram, {"--user", "alice:secret"});
    auto target = test::echo_target();
    auto result = curl({"--socks5-hostname", server.proxy(), "--proxy-user", "alice:secret",
                        url("localhost", target.port())});
    EXPECT_EQ(result.exit_code, 52) << show(result);
    EXPECT_TRUE(server.wait_for_log(
        "CONNECT localhost:" + std::to_string(target.port()) + ": succeeded", 5s))
        << server.log();

    auto wrong = curl({"--socks5-hostname", server.proxy(), "--proxy-user", "alice:wrong",
                       url("localhost", target.port())});
    EXPECT_EQ(wrong.exit_code, 97) << show(wrong);
    EXPECT_TRUE(server.wait_for_log("authentication failed for user 'alice'", 5s)) << server.log();
}

TEST(RequestCurl, ClosedPortIsReply5) {
    require("curl");
    ServerProcess server(test::kRequestProgram);
    auto result = curl({"--socks5", server.proxy(), url("127.0.0.1", test::closed_port())});
    EXPECT_EQ(result.exit_code, 97) << show(result);
    EXPECT_NE(result.err.find("(5)"), std::string::npos) << show(result);
    EXPECT_TRUE(server.wait_for_log("connection refused", 5s)) << server.log();
}

TEST(RequestCurl, InvalidNameIsReply4) {
    require("curl");
    ServerProcess server(test::kRequestProgram);
    // --socks5-hostname: the proxy resolves the name (plain --socks5 would make
    // curl ask DNS itself). Our resolver refuses .invalid without any lookup.
    auto result = curl({"--socks5-hostname", server.proxy(), "http://bad.invalid/"});
    EXPECT_EQ(result.exit_code, 97) << show(result);
    EXPECT_NE(result.err.find("(4)"), std::string::npos) << show(result);
    EXPECT_TRUE(server.wait_for_log("CONNECT bad.invalid:80: host unreachable", 5s))
        << server.log();
}

CommandResult pysocks(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  std::string(SOCKS_SOURCE_DIR) + "/tools/pysocks-client"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, {}, 20s);
}

TEST(RequestPySocks, ConnectsByAddressByNameAndWithAPassword) {
    require("/usr/bin/python3");
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    std::string port = std::to_string(target.port());
    // The client connects, shuts down its side, and reads until our close: exit 0.
    auto by_address = pysocks({"--proxy", server.proxy(), "127.0.0.1", port});
    EXPECT_EQ(by_address.exit_code, 0) << show(by_address);
    EXPECT_TRUE(server.wait_for_log("CONNECT 127.0.0.1:" + port + ": succeeded", 5s))
        << server.log();
    auto by_name = pysocks({"--proxy", server.proxy(), "--rdns", "localhost", port});
    EXPECT_EQ(by_name.exit_code, 0) << show(by_name);
    EXPECT_TRUE(server.wait_for_log("CONNECT localhost:" + port + ": succeeded", 5s))
        << server.log();

    ServerProcess with_users(test::kRequestProgram, {"--user", "u:p"});
    auto with_password = pysocks(
        {"--proxy", with_users.proxy(), "--user", "u", "--password", "p", "127.0.0.1", port});
    EXPECT_EQ(with_password.exit_code, 0) << show(with_password);
    EXPECT_TRUE(with_users.wait_for_log("CONNECT 127.0.0.1:" + port + ": succeeded", 5s))
        << with_users.log();
}

TEST(RequestPySocks, ReportsConnectionRefused) {
    require("/usr/bin/python3");
    ServerProcess server(test::kRequestProgram);
    auto result =
        pysocks({"--proxy", server.proxy(), "127.0.0.1", std::to_string(test::closed_port())});
    EXPECT_EQ(result.exit_code, 1) << show(result);
    EXPECT_NE(result.err.find("0x05: Connection refused"), std::string::npos) << show(result);
}

TEST(RequestNcat, ConnectsThroughTheProxy) {
    require("ncat");
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    std::string port = std::to_string(target.port());
    auto result = test::run_command(
        {"ncat", "--proxy", server.proxy(), "--proxy-type", "socks5", "127.0.0.1", port}, {}, 20s);
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(server.wait_for_log("CONNECT 127.0.0.1:" + port + ": succeeded", 5s))
        << server.log();

    ServerProcess with_users(test::kRequestProgram, {"--user", "u:p"});
    auto authed = test::run_command({"ncat", "--proxy", with_users.proxy(), "--proxy-type",
                                     "socks5", "--proxy-auth", "u:p", "localhost", port},
                                    {}, 20s);
    EXPECT_EQ(authed.exit_code, 0) << show(authed);
    EXPECT_TRUE(with_users.wait_for_log("CONNECT localhost:" + port + ": succeeded", 5s))
        << with_users.log();
}

TEST(RequestNcat, FailsOnAClosedPort) {
    require("ncat");
    ServerProcess server(test::kRequestProgram);
    auto result = test::run_command({"ncat", "--proxy", server.proxy(), "--proxy-type", "socks5",
                                     "127.0.0.1", std::to_string(test::closed_port())},
                                    {}, 20s);
    EXPECT_NE(result.exit_code, 0) << show(result);
    EXPECT_TRUE(server.wait_for_log("connection refused", 5s)) << server.log();
}

}  // namespace
}  // namespace socks
