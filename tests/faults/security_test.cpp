// Security properties of chapter 06's server, each tested on its own:
// credentials (constant-time compare, never logged), method choice, failed
// authentication, UDP source checks, rules against every spelling of a
// destination, and safe listening defaults.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <arpa/inet.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "auth.hpp"
#include "capture.hpp"
#include "config.hpp"
#include "helpers.hpp"

namespace socks::faults {
namespace {

using test::to_hex;

// Distinctive, so a grep of the log cannot miss them.
const std::string kPassword = "Zq8-very-secret-Pw";
const std::string kWrongPassword = "Xk3-wrong-guess-Pw";

std::string hex_of(const std::string& text) {
    return to_hex(Bytes(text.begin(), text.end()));
}

// ---- credentials ------------------------------------------------------------

TEST(SecurityCredentials, NeverLoggedNotEvenWithTraceAndDebug) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer,
                        {"--user", "alice:" + kPassword, "--trace", "--log-level", "debug"});
    Session good = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()),
                          Credentials{"alice", kPassword});
    ASSERT_EQ(good.reply, 0x00) << proxy.log();
    EXPECT_EQ(round_trip(good.socket, "hi"), "hi");
    good.socket = Fd();
    Session bad = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()),
                         Credentials{"alice", kWrongPassword});
    EXPECT_EQ(bad.reply, -1);
    bad.socket = Fd();
    // UDP datagrams are traced too; the trace of RFC 1929 shows only PLEN.
    ASSERT_TRUE(proxy.wait_for_log("authentication failed", 10s));
    ASSERT_TRUE(proxy.wait_for_log(" access client=", 10s, 2));
    EXPECT_EQ(proxy.stop(), 0);
    const std::string log = proxy.log();
    EXPECT_NE(log.find("PASSWD"), std::string::npos) << "the trace did not show the auth message";
    for (const std::string& secret : {kPassword, kWrongPassword}) {
        EXPECT_EQ(log.find(secret), std::string::npos) << "password in the log:\n" << log;
        // Nor its bytes in hex (the first 8 are what a hex column would show).
        EXPECT_EQ(log.find(hex_of(secret.substr(0, 8))), std::string::npos) << log;
        EXPECT_EQ(log.find(hex_of(secret.substr(0, 4))), std::string::npos) << log;
    }
}

// The comparison must take the same time wherever the first wrong byte is.
// Measured on the library's Users::check: the fastest of many interleaved
// batches for "wrong at the first byte" and "wrong at the last byte" (minima
// filter out the noise of a shared machine). An early-exit comparison of
// 255-byte passwords differs by a factor of several here.
TEST(SecurityCredentials, ComparedInConstantTime) {
    const std::string password(255, 'p');
    Users users;
    users.add("alice", password);
    UserPass first_wrong{"alice", password}, last_wrong{"alice", password};
    first_wrong.password.front() = 'x';
    last_wrong.password.back() = 'x';
    ASSERT_FALSE(users.check(first_wrong));
    ASSERT_FALSE(users.check(last_wrong));
    ASSERT_TRUE(users.check(UserPass{"alice", password}));

    auto batch = [&](const UserPass& guess) {
        auto start = std::chrono::steady_clock::now();
        int accepted = 0;
        for (int i = 0; i < 2000; ++i)
            accepted += users.check(guess) ? 1 : 0;
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
        EXPECT_EQ(accepted, 0);
        return ns;
    };
    long long best_first = LLONG_MAX, best_last = LLONG_MAX;
    const int rounds = kSanitized ? 40 : 200;  // a Debug+ASan build is ~40x slower here
    for (int round = 0; round < rounds; ++round) {
        best_first = std::min<long long>(best_first, batch(first_wrong));
        best_last = std::min<long long>(best_last, batch(last_wrong));
    }
    double ratio = static_cast<double>(std::max(best_first, best_last)) /
                   static_cast<double>(std::min(best_first, best_last));
    EXPECT_LT(ratio, 1.5) << "first byte wrong: " << best_first
                          << " ns, last byte wrong: " << best_last << " ns per 2000 checks";
    std::printf("[ figures ] constant time: %lld ns vs %lld ns per 2000 checks (ratio %.3f)\n",
                best_first, best_last, ratio);
}

// ---- method choice ------------------------------------------------------------

TEST(SecurityMethodChoice, OnlyFromTheOfferAndNeverNoAuthWhenAUserIsConfigured) {
    ServerProcess with_user(kServer, {"--user", "alice:" + kPassword});
    ServerProcess without(kServer);
    // Every single-method offer: only 02 is accepted with --user, only 00 without.
    for (int method = 0; method < 256; ++method) {
        auto m = static_cast<std::uint8_t>(method);
        for (bool auth : {true, false}) {
            Fd client = test::connect_client(auth ? with_user.endpoint() : without.endpoint());
            write_all(client, greeting({m}));
            Ending answer = read_until_close(client, method == (auth ? 2 : 0) ? 1s : 10s);
            std::uint8_t expected = method == (auth ? 0x02 : 0x00) ? m : 0xFF;
            ASSERT_GE(answer.bytes.size(), 2u) << "offer " << method;
            EXPECT_EQ(answer.bytes[1], expected)
                << (auth ? "with" : "without") << " --user, offer " << method;
            if (expected == 0xFF) {
                EXPECT_TRUE(answer.closed) << "still open after 05 FF, offer " << method;
                EXPECT_EQ(answer.bytes.size(), 2u);
            }
        }
    }
    // What curl sends with credentials (00 first, GSSAPI too): 02 is chosen.
    for (const Bytes& offer : {greeting({0x00, 0x01, 0x02}), greeting({0x02, 0x00}),
                               greeting({0x00, 0x01, 0x02, 0x00, 0x00})}) {
        Fd client = test::connect_client(with_user.endpoint());
        write_all(client, offer);
        EXPECT_EQ(to_hex(read_up_to(client, 2)), "05 02") << to_hex(offer);
    }
    // With --user, offering everything except 02 is refused.
    Bytes all_but_two{0x05, 0xFE};
    for (int m = 0; m < 256; ++m) {
        if (m != 2 && m != 0xFF) all_but_two.push_back(static_cast<std::uint8_t>(m));
    }
    Fd client = test::connect_client(with_user.endpoint());
    write_all(client, all_but_two);
    Ending answer = read_until_close(client);
    EXPECT_EQ(to_hex(answer.bytes), "05 ff");
    EXPECT_TRUE(answer.closed);
}

// ---- failed authentication ------------------------------------------------------

TEST(SecurityAuthentication, AFailedAuthenticationNeverReachesTheRequest) {
    CountingTarget target;
    ServerProcess proxy(kServer, {"--user", "alice:" + kPassword});
    const Bytes request = request_ipv4("127.0.0.1", target.port());
    const Bytes payload{'G', 'E', 'T', '\n'};
    struct Attempt {
        const char* what;
        Bytes auth;
        const char* answer;  // after the method selection
    };
    const std::vector<Attempt> attempts = {
        {"wrong password", user_pass("alice", kWrongPassword), "01 01"},
        {"password prefix", user_pass("alice", kPassword.substr(0, 5)), "01 01"},
        {"password plus a byte", user_pass("alice", kPassword + "x"), "01 01"},
        {"wrong user", user_pass("mallory", kPassword), "01 01"},
        {"empty fields", user_pass("", ""), "01 01"},
        {"user name case", user_pass("Alice", kPassword), "01 01"},
        // Skipping the sub-negotiation: the request read as an RFC 1929
        // message has VER 05, which fails.
        {"request instead of auth", {}, "01 01"},
    };
    for (const Attempt& attempt : attempts) {
        Fd client = test::connect_client(proxy.endpoint());
        write_all(client, concat({greeting({0x00, 0x02}), attempt.auth, request, payload}));
        Ending ending = read_until_close(client, 10s);
        EXPECT_EQ(to_hex(ending.bytes), std::string("05 02 ") + attempt.answer) << attempt.what;
        EXPECT_TRUE(ending.closed) << attempt.what << ": connection left open";
    }
    // Sending the request without offering 02 at all: 05 FF, closed.
    Fd client = test::connect_client(proxy.endpoint());
    write_all(client, concat({greeting({0x00}), request, payload}));
    Ending ending = read_until_close(client, 10s);
    EXPECT_EQ(to_hex(ending.bytes), "05 ff");
    EXPECT_TRUE(ending.closed);

    EXPECT_EQ(target.accepted(), 0) << "a client that failed authentication reached the target";
    // The control: the right account gets through to the same target.
    EXPECT_TRUE(
        control_client_served(proxy.endpoint(), target.port(), Credentials{"alice", kPassword}));
    EXPECT_EQ(target.accepted(), 1);
}

// SOCKS4 has no password, so with --user it must not be a way around it.
TEST(SecurityAuthentication, Socks4IsRefusedWhenAUserIsConfigured) {
    CountingTarget target;
    ServerProcess proxy(kServer, {"--user", "alice:" + kPassword, "--map", "t.test=127.0.0.1"});
    Bytes socks4{0x04,
                 0x01,
                 static_cast<std::uint8_t>(target.port() >> 8),
                 static_cast<std::uint8_t>(target.port() & 0xFF),
                 127,
                 0,
                 0,
                 1,
                 'a',
                 0};
    for (const Bytes& request : {socks4, socks4a_request("t.test", target.port())}) {
        Fd client = test::connect_client(proxy.endpoint());
        write_all(client, request);
        Ending ending = read_until_close(client, 10s);
        ASSERT_EQ(ending.bytes.size(), 8u);
        EXPECT_EQ(ending.bytes[1], 0x5B);
    }
    EXPECT_EQ(target.accepted(), 0);
}

// ---- UDP: only the client's own address ------------------------------------------

TEST(SecurityUdp, DatagramsAreAcceptedOnlyFromTheAuthenticatedClient) {
    ServerProcess proxy(kServer, {"--user", "alice:" + kPassword, "--log-level", "debug"});
    Fd target = udp_on("127.0.0.1");
    const SocketAddress target_address = local_address(target);
    Fd client = udp_on("127.0.0.1");
    Fd same_host_other_port = udp_on("127.0.0.1");
    Fd other_host = udp_on("127.0.0.2");

    // The client announces its UDP port (as socksify does).
    Session control =
        socks5(proxy.endpoint(), request_ipv4("127.0.0.1", local_address(client).port(), 0x03),
               Credentials{"alice", kPassword});
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    SocketAddress relay = ipv4_address(control.bound.ip, control.bound.port);
    auto send_from = [&](const Fd& socket, const std::string& text) {
        Bytes datagram = udp_datagram_to(target_address, text);
        ASSERT_GE(
            ::sendto(socket.get(), datagram.data(), datagram.size(), 0, relay.get(), relay.size),
            0);
    };
    // Datagrams are handled in arrival order: the spoofed ones go first, so
    // if they were relayed they would reach the target before the real one.
    send_from(other_host, "from 127.0.0.2");
    send_from(same_host_other_port, "from another port");
    send_from(client, "from the client");
    EXPECT_EQ(receive_text(target), "from the client");
    send_from(other_host, "again from 127.0.0.2");
    send_from(client, "second from the client");
    EXPECT_EQ(receive_text(target), "second from the client");
    // The log reaches us through a pipe, after the datagrams: wait for it.
    EXPECT_TRUE(proxy.wait_for_log("dropped a datagram", 10s, 3)) << proxy.log();
}

// With DST 0.0.0.0:0 (port unknown), the port is learned from the first
// datagram; another port of the same host is refused after that, and another
// host always.
TEST(SecurityUdp, WithAnUnknownPortTheFirstDatagramFixesIt) {
    ServerProcess proxy(kServer, {"--log-level", "debug"});
    Fd target = udp_on("127.0.0.1");
    const SocketAddress target_address = local_address(target);
    Fd client = udp_on("127.0.0.1");
    Fd later = udp_on("127.0.0.1");
    Fd other_host = udp_on("127.0.0.2");
    Session control = socks5(proxy.endpoint(), request_ipv4("0.0.0.0", 0, 0x03));
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    SocketAddress relay = ipv4_address(control.bound.ip, control.bound.port);
    auto send_from = [&](const Fd& socket, const std::string& text) {
        Bytes datagram = udp_datagram_to(target_address, text);
        ::sendto(socket.get(), datagram.data(), datagram.size(), 0, relay.get(), relay.size);
    };
    send_from(other_host, "other host first");
    send_from(client, "first");
    EXPECT_EQ(receive_text(target), "first");
    send_from(later, "same host, another port");
    send_from(client, "second");
    EXPECT_EQ(receive_text(target), "second");
}

// ---- rules against every spelling of a destination ----------------------------------

struct Spelling {
    std::string what;
    Bytes request;
    bool unspecified = false;  // 0.0.0.0 or ::: "this host", never a destination
};

// The same destination, 127.0.0.1:port, written every way a client can.
std::vector<Spelling> spellings_of_loopback(std::uint16_t port) {
    return {
        {"IPv4", request_ipv4("127.0.0.1", port)},
        {"IPv4-mapped IPv6", request_ipv6("::ffff:127.0.0.1", port)},
        {"IPv4 literal as a name", request_domain("127.0.0.1", port)},
        {"short IPv4 literal as a name", request_domain("127.1", port)},
        {"decimal IPv4 as a name", request_domain("2130706433", port)},
        {"hex IPv4 as a name", request_domain("0x7f000001", port)},
        {"mapped IPv6 literal as a name", request_domain("::ffff:127.0.0.1", port)},
        {"mapped name", request_domain("victim.test", port)},
        {"mapped name, trailing dot", request_domain("victim.test.", port)},
        {"mapped name, mixed case", request_domain("ViCtIm.TeSt", port)},
        {"mapped name, case and dot", request_domain("VICTIM.TEST.", port)},
        // Linux connects 0.0.0.0 and :: to the local host.
        {"0.0.0.0 (this host)", request_ipv4("0.0.0.0", port), true},
        {"0 as a name", request_domain("0", port), true},
        {"0.0.0.0 as a name", request_domain("0.0.0.0", port), true},
        {"IPv4-mapped 0.0.0.0", request_ipv6("::ffff:0.0.0.0", port), true},
    };
}

TEST(SecurityRules, AnAddressRuleHoldsForEverySpellingOfTheDestination) {
    CountingTarget denied, allowed;
    ServerProcess proxy(kServer, {"--deny", "to=127.0.0.0/8 port=" + std::to_string(denied.port()),
                                  "--map", "victim.test=127.0.0.1"});
    for (const Spelling& spelling : spellings_of_loopback(denied.port())) {
        Session session = socks5(proxy.endpoint(), spelling.request);
        EXPECT_NE(session.reply, 0x00) << spelling.what << " got through";
        EXPECT_NE(session.reply, -1) << spelling.what << ": no reply";
    }
    EXPECT_EQ(denied.accepted(), 0) << "a denied destination was reached";
    // The same spellings reach an allowed port: each one really names 127.0.0.1
    // (except 0.0.0.0, which is never a destination).
    int reached = 0;
    for (const Spelling& spelling : spellings_of_loopback(allowed.port())) {
        Session session = socks5(proxy.endpoint(), spelling.request);
        if (spelling.unspecified) continue;
        EXPECT_EQ(session.reply, 0x00) << spelling.what << "\n" << proxy.log();
        reached += session.reply == 0x00;
    }
    EXPECT_GT(reached, 0);
}

TEST(SecurityRules, ANameRuleHoldsForCaseTrailingDotsSubdomainsAndSocks4a) {
    CountingTarget target;
    ServerProcess proxy(kServer,
                        {"--deny", "to=victim.test", "--map", "victim.test=127.0.0.1", "--map",
                         "www.victim.test=127.0.0.1", "--map", "other.test=127.0.0.1"});
    for (const std::string name : {"victim.test", "VICTIM.TEST", "Victim.Test.", "victim.test..",
                                   "www.victim.test", "WWW.Victim.Test."}) {
        Session session = socks5(proxy.endpoint(), request_domain(name, target.port()));
        EXPECT_EQ(session.reply, 0x02) << name;
        Fd v4a = test::connect_client(proxy.endpoint());
        write_all(v4a, socks4a_request(name, target.port()));
        Bytes answer = read_up_to(v4a, 8);
        ASSERT_EQ(answer.size(), 8u) << name;
        EXPECT_EQ(answer[1], 0x5B) << "SOCKS4a " << name;
    }
    EXPECT_EQ(target.accepted(), 0);
    EXPECT_EQ(socks5(proxy.endpoint(), request_domain("other.test", target.port())).reply, 0x00);
}

// A NUL inside a name: "127.0.0.1\0.allowed.test" ends in .allowed.test for
// the rules, but the C resolver stops at the NUL and would dial 127.0.0.1.
TEST(SecurityRules, ANulInsideANameCannotSmuggleAnotherDestination) {
    CountingTarget target;
    ServerProcess proxy(kServer, {"--allow", "to=allowed.test", "--map", "allowed.test=127.0.0.3"});
    std::string smuggled = std::string("127.0.0.1") + '\0' + ".allowed.test";
    Session session = socks5(proxy.endpoint(), request_domain(smuggled, target.port()));
    EXPECT_NE(session.reply, 0x00);
    EXPECT_NE(session.reply, -1);
    EXPECT_EQ(target.accepted(), 0) << "the NUL-smuggled destination was reached";
}

TEST(SecurityRules, UdpDatagramsObeyTheRulesForEverySpelling) {
    ServerProcess proxy(kServer, {"--deny", "to=127.0.0.0/8 port=9", "--map",
                                  "victim.test=127.0.0.1", "--log-level", "debug"});
    Fd client = udp_on("127.0.0.1");
    Session control =
        socks5(proxy.endpoint(), request_ipv4("127.0.0.1", local_address(client).port(), 0x03));
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    SocketAddress relay = ipv4_address(control.bound.ip, control.bound.port);
    int sent = 0;
    for (const Spelling& spelling : spellings_of_loopback(9)) {
        // A request's ATYP ADDR PORT is a datagram header's, after RSV RSV FRAG.
        Bytes datagram{0x00, 0x00, 0x00};
        datagram.insert(datagram.end(), spelling.request.begin() + 3, spelling.request.end());
        datagram.push_back('x');
        ::sendto(client.get(), datagram.data(), datagram.size(), 0, relay.get(), relay.size);
        ++sent;
    }
    EXPECT_TRUE(
        test::eventually([&] { return log_count(proxy, "dropped a datagram") >= sent; }, 10s))
        << proxy.log();
    EXPECT_EQ(log_count(proxy, "datagrams up, 0"), 0);
    control.socket = Fd();
    ASSERT_TRUE(proxy.wait_for_log(" access client=", 10s));
    EXPECT_NE(proxy.log().find("0 datagrams up"), std::string::npos) << proxy.log();
}

// ---- listening defaults -------------------------------------------------------------

TEST(SecurityDefaults, TheDefaultListenAddressIsLoopback) {
    std::vector<std::string> args{"socks5-server"};
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    auto parsed = parse_config(static_cast<int>(argv.size()), argv.data());
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const Config& config = std::get<Config>(parsed);
    ASSERT_EQ(config.listen.size(), 1u);
    EXPECT_EQ(config.listen.front().host, "127.0.0.1");
    EXPECT_EQ(config.listen.front().port, 1080);
    EXPECT_TRUE(config.users.empty());
    EXPECT_TRUE(config.rules.empty());
}

TEST(SecurityDefaults, ListeningWideOpenNeedsAnExplicitFlag) {
    const std::string server = test::program_path(kServer);
    for (const char* wide : {"0.0.0.0:0", "[::]:0"}) {
        auto result = test::run_command({server, "--listen", wide}, {}, 10s);
        EXPECT_EQ(result.exit_code, 2) << wide << ": " << result.err;
        EXPECT_NE(result.err.find("refusing to listen"), std::string::npos) << result.err;
        EXPECT_EQ(result.out.find("listening on"), std::string::npos) << wide << " listened";
    }
    // With the flag it starts, and says loudly what it is.
    ServerProcess open(kServer, {"--listen", "0.0.0.0:0", "--allow-open-proxy"});
    EXPECT_TRUE(open.wait_for_log("OPEN proxy", 10s)) << open.log();
    // With authentication (or an --allow rule) it is not an open proxy.
    ServerProcess with_user(kServer, {"--listen", "0.0.0.0:0", "--user", "alice:" + kPassword});
    EXPECT_TRUE(with_user.running());
    EXPECT_EQ(with_user.log().find("OPEN proxy"), std::string::npos);
}

}  // namespace
}  // namespace socks::faults
