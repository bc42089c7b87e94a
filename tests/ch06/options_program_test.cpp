// The command line of the running program: accounts from a file, --map,
// --outgoing-address, several --listen addresses, the safe default against
// open proxies, --help, --version, bad values, and the method choice.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::ch06 {
namespace {

using test::hex;
using test::to_hex;

CommandResult run_server(const std::vector<std::string>& args) {
    std::vector<std::string> argv{test::program_path(kServer)};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, {}, 10s);
}

using Credentials = std::optional<std::pair<std::string, std::string>>;
Credentials as(const std::string& name, const std::string& password) {
    return std::pair<std::string, std::string>{name, password};
}

TEST(UsersFileProgram, AccountsFromTheFileLogIn) {
    auto echo = test::echo_target();
    TempFile file("# lab accounts\nalice:secret\n\nbob:\n");
    ServerProcess proxy(kServer, {"--users-file", file.path(), "--user", "carol:c"});
    const Bytes request = socks5_request_ip("127.0.0.1", echo.port());
    for (const auto& [name, password] : std::vector<std::pair<std::string, std::string>>{
             {"alice", "secret"}, {"bob", ""}, {"carol", "c"}}) {
        auto session =
            socks5_exchange(proxy.endpoint(), request, hex("05 01 02"), as(name, password));
        EXPECT_EQ(session.reply, 0x00) << name << "\n" << proxy.log();
        EXPECT_EQ(echo_round_trip(session.socket, name), name);
    }
    auto wrong = socks5_exchange(proxy.endpoint(), request, hex("05 01 02"), as("alice", "nope"));
    EXPECT_EQ(wrong.reply, -1);
    auto comment =
        socks5_exchange(proxy.endpoint(), request, hex("05 01 02"), as("# lab accounts", ""));
    EXPECT_EQ(comment.reply, -1) << "a comment line became an account";
}

TEST(UsersFileProgram, AMalformedLineStopsTheProgramNamingFileAndLine) {
    TempFile file("alice:secret\n# a comment\n\nthis line has no colon\n");
    auto result = run_server({"--listen", "127.0.0.1:0", "--users-file", file.path()});
    EXPECT_EQ(result.exit_code, 2) << show(result);
    EXPECT_NE(result.err.find(file.path() + ":4"), std::string::npos) << show(result);
    EXPECT_EQ(result.out.find("listening on"), std::string::npos) << "it started anyway";

    auto missing = run_server({"--listen", "127.0.0.1:0", "--users-file", file.path() + ".none"});
    EXPECT_EQ(missing.exit_code, 2) << show(missing);
    EXPECT_NE(missing.err.find(file.path() + ".none"), std::string::npos) << show(missing);
}

TEST(MapProgram, NamesResolveWithoutDnsInAnySpelling) {
    auto v4 = test::echo_target("127.0.0.1");
    auto v6 = test::echo_target("::1");
    ServerProcess proxy(kServer, {"--map", "four.test=127.0.0.1", "--map", "six.test=::1"});
    for (const std::string name : {"four.test", "FOUR.Test.", "four.test."}) {
        auto session = socks5_exchange(proxy.endpoint(), socks5_request_domain(name, v4.port()));
        EXPECT_EQ(session.reply, 0x00) << name;
        EXPECT_EQ(echo_round_trip(session.socket, name), name);
    }
    auto six = socks5_exchange(proxy.endpoint(), socks5_request_domain("six.test", v6.port()));
    EXPECT_EQ(six.reply, 0x00);
    EXPECT_EQ(six.bound.type, AddressType::IPv6) << "BND is the IPv6 outgoing address";
    EXPECT_EQ(echo_round_trip(six.socket, "six"), "six");
    // A name nobody mapped goes to the system resolver; .invalid never resolves.
    auto unknown = socks5_exchange(proxy.endpoint(), socks5_request_domain("five.invalid", 80));
    EXPECT_EQ(unknown.reply, 0x04);
}

TEST(OutgoingAddressProgram, TheTargetSeesTheChosenSourceAddress) {
    for (const std::string source : {"127.0.0.1", "127.0.0.2"}) {
        RecordingTarget target("127.0.0.1");
        ServerProcess proxy(kServer, {"--outgoing-address", source});
        auto session =
            socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", target.port()));
        ASSERT_EQ(session.reply, 0x00) << proxy.log();
        EXPECT_EQ(echo_round_trip(session.socket, "from " + source), "from " + source);
        ASSERT_EQ(target.connections(), 1);
        SocketAddress seen = target.peers().front();
        EXPECT_EQ(seen.host(), source) << "the target's peer address";
        EXPECT_EQ(session.bound.host(), source) << "BND.ADDR";
        EXPECT_EQ(session.bound.port, seen.port()) << "BND.PORT is the outgoing port";
    }
}

TEST(OutgoingAddressProgram, NoAddressOfTheDestinationsFamilyIsReply3) {
    auto v6 = test::echo_target("::1");
    ServerProcess proxy(kServer, {"--outgoing-address", "127.0.0.1"});
    auto session = socks5_exchange(proxy.endpoint(), socks5_request_ip("::1", v6.port()));
    EXPECT_EQ(session.reply, 0x03) << to_hex(session.reply_bytes);
    EXPECT_NE(access(proxy, 1)["note"].find("outgoing"), std::string::npos) << proxy.log();
}

TEST(ListenProgram, TwoAddressesBothServe) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--listen", "127.0.0.1:0", "--listen", "[::1]:0"});
    ASSERT_EQ(proxy.endpoints().size(), 2u);
    EXPECT_EQ(proxy.endpoints()[0].host, "127.0.0.1");
    EXPECT_EQ(proxy.endpoints()[1].host, "::1");
    for (const Endpoint& where : proxy.endpoints()) {
        auto session = socks5_exchange(where, socks5_request_ip("127.0.0.1", echo.port()));
        EXPECT_EQ(session.reply, 0x00) << to_string(where);
        EXPECT_EQ(echo_round_trip(session.socket, to_string(where)), to_string(where));
    }
    auto lines = wait_for_access(proxy, 2);
    std::set<std::string> clients;
    for (const Access& line : lines)
        clients.insert(line["client"].substr(0, 4));
    EXPECT_EQ(clients, (std::set<std::string>{"127.", "[::1"}));
}

TEST(ListenProgram, AnOpenProxyOnAReachableAddressNeedsConsent) {
    for (const std::string where : {"0.0.0.0:0", "[::]:0"}) {
        auto refused = run_server({"--listen", where});
        EXPECT_EQ(refused.exit_code, 2) << where << ": " << show(refused);
        EXPECT_NE(refused.err.find("--allow-open-proxy"), std::string::npos) << show(refused);
        EXPECT_EQ(refused.out.find("listening on"), std::string::npos) << "it listened anyway";
    }
    {
        ServerProcess open(kServer, {"--listen", "0.0.0.0:0", "--allow-open-proxy"});
        EXPECT_TRUE(open.wait_for_log("OPEN proxy", 5s)) << open.log();
        EXPECT_EQ(open.stop(), 0) << open.log();
    }
    {
        // Passwords, or --allow rules each limited by from=, make it a closed
        // proxy: no warning. (An --allow without from= lets anyone in.)
        ServerProcess with_users(kServer, {"--listen", "0.0.0.0:0", "--user", "a:b"});
        EXPECT_EQ(with_users.stop(), 0) << with_users.log();
        EXPECT_EQ(with_users.log().find("OPEN"), std::string::npos) << with_users.log();
        ServerProcess with_allow(
            kServer, {"--listen", "0.0.0.0:0", "--allow", "from=127.0.0.0/8 to=127.0.0.1"});
        EXPECT_EQ(with_allow.log().find("OPEN"), std::string::npos) << with_allow.log();
        EXPECT_EQ(with_allow.stop(), 0) << with_allow.log();
    }
}

TEST(HelpProgram, HelpListsEveryFlagTheTestsUse) {
    auto help = run_server({"--help"});
    ASSERT_EQ(help.exit_code, 0) << show(help);
    // The options list: "  --name VALUE   help" lines.
    std::set<std::string> listed;
    std::regex option_line(R"(^  (--[a-z0-9-]+))");
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (std::regex_search(line, match, option_line)) listed.insert(match[1]);
    }
    const std::set<std::string> tested = {"--listen",
                                          "--user",
                                          "--users-file",
                                          "--allow",
                                          "--deny",
                                          "--outgoing-address",
                                          "--map",
                                          "--max-connections",
                                          "--handshake-timeout",
                                          "--idle-timeout",
                                          "--keepalive",
                                          "--connect-timeout",
                                          "--shutdown-grace",
                                          "--thread-stack",
                                          "--relay",
                                          "--log-level",
                                          "--trace",
                                          "--allow-open-proxy",
                                          "--version",
                                          "--help"};
    // Flags with their own tests elsewhere (chapter 06 part 2: BIND and UDP;
    // tests/ch06-perf: the speed options).
    // tests/faults/hardening_test.cpp: the hardening flags;
    // tests/ch06/per_source_test.cpp: the per-address limits;
    // tests/ch06-balancer: behind a load balancer.
    const std::set<std::string> tested_elsewhere = {
        "--bind-timeout",       "--spare-threads", "--deny-loopback", "--max-per-source",
        "--max-login-failures", "--log-refusals",  "--max-lookups",   "--proxy-protocol-from",
        "--reuse-port",         "--log-format",    "--health-from"};
    for (const std::string& flag : tested) {
        EXPECT_TRUE(listed.count(flag)) << flag << " is missing from --help:\n" << help.out;
    }
    for (const std::string& flag : listed) {
        EXPECT_TRUE(tested.count(flag) || tested_elsewhere.count(flag))
            << flag << " is in --help but no chapter 06 test uses it";
    }
}

TEST(HelpProgram, EveryListedFlagIsAcceptedWithAGoodValue) {
    auto echo = test::echo_target();
    TempFile users("alice:secret\n");
    // Every flag at once, each with a value it must accept; the server starts and serves.
    // clang-format off
    const std::vector<std::string> flags = {
        "--listen", "127.0.0.1:0",
        "--user", "bob:pw",
        "--users-file", users.path(),
        "--allow", "to=127.0.0.1",
        "--deny", "port=1",
        "--outgoing-address", "127.0.0.1",
        "--map", "e.test=127.0.0.1",
        "--max-connections", "10",
        "--handshake-timeout", "5",
        "--idle-timeout", "30",
        "--keepalive", "30",
        "--connect-timeout", "2",
        "--shutdown-grace", "1",
        "--thread-stack", "128",
        "--relay", "copy",
        "--log-level", "debug",
        "--trace",
        "--allow-open-proxy",
    };
    // clang-format on
    ServerProcess proxy(kServer, flags);
    auto session = socks5_exchange(proxy.endpoint(), socks5_request_domain("e.test", echo.port()),
                                   hex("05 01 02"), as("alice", "secret"));
    EXPECT_EQ(session.reply, 0x00) << proxy.log();
    EXPECT_EQ(echo_round_trip(session.socket, "all flags"), "all flags");
    session.socket = Fd();
    EXPECT_EQ(proxy.stop(), 0) << proxy.log();
}

TEST(HelpProgram, VersionPrintsAVersionAndExits0) {
    auto version = run_server({"--version"});
    EXPECT_EQ(version.exit_code, 0) << show(version);
    EXPECT_TRUE(std::regex_search(version.out, std::regex(R"(^socks5-server \d+\.\d+\.\d+\n$)")))
        << show(version);
}

TEST(HelpProgram, BadValuesExit2BeforeListening) {
    const std::vector<std::vector<std::string>> bad = {
        {"--frobnicate"},
        {"--listen", "nowhere"},
        {"--max-connections", "many"},
        {"--max-connections", "-1"},
        {"--handshake-timeout", "nan"},
        {"--idle-timeout", "-5"},
        {"--thread-stack", "8"},
        {"--log-level", "chatty"},
        {"--relay", "teleport"},
        {"--deny", "to="},
        {"--allow", "port=0-99999"},
        {"--map", "host.test"},
        {"--outgoing-address", "example.test"},
        {"--user", ":nopassword"},
        {"--shutdown-grace"},
    };
    for (const auto& words : bad) {
        std::vector<std::string> args{"--listen", "127.0.0.1:0"};
        args.insert(args.end(), words.begin(), words.end());
        auto result = run_server(args);
        EXPECT_EQ(result.exit_code, 2) << words.front() << ": " << show(result);
        EXPECT_NE(result.err.find(words.front()), std::string::npos)
            << "the message names the flag: " << show(result);
        EXPECT_EQ(result.out.find("listening on"), std::string::npos) << words.front();
    }
}

TEST(MethodChoice, NeverNoAuthWhenPasswordsAreRequired) {
    ServerProcess proxy(kServer, {"--user", "alice:secret"});
    struct Case {
        const char* greeting;
        const char* selection;
    };
    for (const Case& c : std::initializer_list<Case>{
             {"05 03 00 01 02", "05 02"},  // Debian's curl with --proxy-user
             {"05 02 00 02", "05 02"},     // ncat, PySocks
             {"05 02 02 00", "05 02"},
             {"05 01 00", "05 ff"},     // only NO AUTH
             {"05 02 00 01", "05 ff"},  // curl without credentials
         }) {
        Fd client = test::connect_client(proxy.endpoint());
        write_all(client, hex(c.greeting));
        auto answer = read_up_to(client, 2);
        EXPECT_EQ(to_hex(answer), c.selection) << "greeting " << c.greeting;
    }
    {
        ServerProcess open(kServer);
        Fd client = test::connect_client(open.endpoint());
        write_all(client, hex("05 02 02 00"));
        EXPECT_EQ(to_hex(read_up_to(client, 2)), "05 00")
            << "without --user, NO AUTH is the choice even when offered second";
    }
}

}  // namespace
}  // namespace socks::ch06
