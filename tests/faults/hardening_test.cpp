// The holes an adversarial review found in chapter 06 (issue 18), one test
// each: loops through the server itself, UDP caches that grow, log injection,
// BIND under descriptor exhaustion, and pressure from one client.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include <cstdio>
#include <string>
#include <vector>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::faults {
namespace {

// ---- loops: CONNECT to the server itself ---------------------------------------

// `layers` copies of greeting + CONNECT `to_self`, then a CONNECT to `echo`,
// all in one write: if the server dialled itself, every layer would be a new
// session of the same server, and one socket would hold them all.
Bytes nested_layers(const Bytes& to_self, std::uint16_t echo, int layers) {
    Bytes out;
    for (int i = 0; i < layers; ++i) {
        Bytes layer = concat({greeting({0x00}), to_self});
        out.insert(out.end(), layer.begin(), layer.end());
    }
    Bytes last = concat({greeting({0x00}), request_ipv4("127.0.0.1", echo)});
    out.insert(out.end(), last.begin(), last.end());
    return out;
}

TEST(SecurityLoops, NestedConnectsToTheServerItselfAreRefusedWithReply2) {
    CountingTarget echo;
    ServerProcess proxy(kServer, {"--map", "self.test=127.0.0.1"});
    const std::uint16_t port = proxy.port();
    int base_threads = proxy.threads();
    std::vector<Bytes> spellings{
        request_ipv4("127.0.0.1", port),    request_ipv6("::ffff:127.0.0.1", port),
        request_domain("self.test", port),  request_domain("127.0.0.1", port),
        request_domain("SELF.test.", port),
    };
    for (const Bytes& to_self : spellings) {
        // One layer at a time: the refusal is reply 02.
        Session single = socks5(proxy.endpoint(), to_self);
        EXPECT_EQ(single.reply, 0x02) << test::to_hex(to_self) << "\n" << proxy.log();
        // 300 layers in one write: the server refuses the first and closes.
        // (It may reset rather than close, with the other layers unread.)
        Fd client = test::connect_client(proxy.endpoint(), 10s);
        write_all(client, nested_layers(to_self, echo.port(), 300));
        Ending ending = read_until_close(client, 10s);
        EXPECT_TRUE(ending.closed) << "the connection stayed open: nested sessions?";
        // Had the server nested, hundreds of sessions would be running now.
        EXPECT_LE(proxy.threads(), base_threads + 4) << test::to_hex(to_self);
    }
    EXPECT_EQ(echo.accepted(), 0) << "a nested layer reached the target";
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
    EXPECT_GE(log_count(proxy, "is this server's own listening address"),
              2 * static_cast<int>(spellings.size()))
        << proxy.log();
}

TEST(SecurityLoops, Socks4ToTheServerItselfIsRefused) {
    ServerProcess proxy(kServer, {"--map", "self.test=127.0.0.1"});
    Fd client = test::connect_client(proxy.endpoint(), 10s);
    write_all(client, socks4a_request("self.test", proxy.port()));
    Bytes reply = read_up_to(client, 8);
    ASSERT_EQ(reply.size(), 8u) << proxy.log();
    EXPECT_EQ(reply[1], 0x5B) << proxy.log();
    EXPECT_TRUE(proxy.wait_for_log("is this server's own listening address")) << proxy.log();
}

// ---- UDP ASSOCIATE: bounded caches -------------------------------------------------

// RSV RSV FRAG=0 ATYP=03 NAME PORT, then `data`.
Bytes udp_datagram_to_name(const std::string& name, std::uint16_t port, const std::string& data) {
    Bytes out{0x00, 0x00, 0x00, 0x03, static_cast<std::uint8_t>(name.size())};
    out.insert(out.end(), name.begin(), name.end());
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port & 0xFF));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

// The review's attack: datagrams to 200,000 names that never resolve (.invalid
// fails at once, RFC 6761) grew the server by ~680 bytes each, 132 MB in all,
// because every failed lookup was cached for the association's lifetime.
TEST(SecurityUdp, TwoHundredThousandUniqueNamesDoNotGrowTheServer) {
    if (kSanitized) GTEST_SKIP() << "sanitizers keep freed memory: RSS says nothing here";
    ServerProcess proxy(kServer);
    Fd target = udp_on("127.0.0.1");
    const SocketAddress target_address = local_address(target);
    Fd client = udp_on("127.0.0.1");
    Session control =
        socks5(proxy.endpoint(), request_ipv4("127.0.0.1", local_address(client).port(), 0x03));
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    SocketAddress relay = ipv4_address(control.bound.ip, control.bound.port);
    auto send = [&](const Bytes& datagram) {
        ASSERT_GE(
            ::sendto(client.get(), datagram.data(), datagram.size(), 0, relay.get(), relay.size),
            0);
    };
    // Batches of 100 names, each followed by a datagram to a real target: its
    // arrival says the server has handled the batch (datagrams are handled in
    // order), and a batch fits the relay socket's receive buffer.
    int next = 0;
    auto send_names = [&](int count) {
        for (int sent = 0; sent < count;) {
            for (int i = 0; i < 100 && sent < count; ++i, ++sent)
                send(udp_datagram_to_name("n" + std::to_string(next++) + ".invalid", 9, "x"));
            send(udp_datagram_to(target_address, "sync"));
            ASSERT_EQ(receive_text(target), "sync") << "the relay stopped answering";
        }
    };
    send_names(2'000);  // warm up: buffers and the allocator's arenas exist
    const long before = rss_kib(proxy.pid());
    send_names(200'000);
    const long after = rss_kib(proxy.pid());
    // 8 MiB: far below the 130 MB a cache of every name took, far above
    // what a bounded one (256 names) can hold.
    EXPECT_LT(after - before, 8 * 1024) << "RSS " << before << " KiB -> " << after << " KiB";
    std::printf("[ figures ] 200000 unique names: RSS %ld KiB -> %ld KiB\n", before, after);
    control.socket = Fd();  // ends the association
    ASSERT_TRUE(proxy.wait_for_log("control connection closed")) << proxy.log();
    const long ended = rss_kib(proxy.pid());
    EXPECT_LT(ended - before, 8 * 1024) << "after the association: " << ended << " KiB";
    std::printf("[ figures ] after the association ended: RSS %ld KiB\n", ended);
}

// ---- BIND under descriptor exhaustion ------------------------------------------------

// A peer waits in BIND's backlog while the server has no descriptor to
// accept it with: accept() fails with EMFILE at once, and a loop that polls
// again without waiting burns a whole core for up to --bind-timeout.
TEST(SecurityBind, OutOfDescriptorsBindBacksOffInsteadOfSpinning) {
    ServerProcess proxy(kServer, {"--bind-timeout", "30"});
    Session control = socks5(proxy.endpoint(), request_ipv4("0.0.0.0", 0, 0x02));
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    rlimit normal{};
    ASSERT_EQ(::prlimit(proxy.pid(), RLIMIT_NOFILE, nullptr, &normal), 0) << std::strerror(errno);
    rlimit low{4, normal.rlim_max};  // below every descriptor it has open: no new one
    ASSERT_EQ(::prlimit(proxy.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);
    Fd peer = test::connect_client({"127.0.0.1", control.bound.port}, 10s);
    // A measurement over 2 s, not a synchronisation.
    const double cpu_before = cpu_seconds(proxy.pid());
    const auto start = Clock::now();
    std::this_thread::sleep_for(2s);
    const auto elapsed = since(start);
    const double cpu_used = cpu_seconds(proxy.pid()) - cpu_before;
    EXPECT_LT(cpu_used, 0.2 * static_cast<double>(elapsed.count()) / 1000.0 + 0.05)
        << "BIND used " << cpu_used << " s of CPU in " << elapsed.count()
        << " ms while out of descriptors: its accept loop spins";
    std::printf("[ figures ] BIND out of descriptors: %.3f s CPU over %lld ms\n", cpu_used,
                static_cast<long long>(elapsed.count()));
    EXPECT_TRUE(proxy.wait_for_log("BIND: accept: Too many open files", 5s)) << proxy.log();
    // Descriptors again: the waiting peer is accepted, the second reply comes.
    ASSERT_EQ(::prlimit(proxy.pid(), RLIMIT_NOFILE, &normal, nullptr), 0);
    Reply second = read_reply(control.socket);
    EXPECT_EQ(second.code, 0x00) << proxy.log();
    write_all(peer, std::string_view("relayed"));
    EXPECT_EQ(read_up_to(control.socket, 7), (Bytes{'r', 'e', 'l', 'a', 'y', 'e', 'd'}));
}

// ---- safer defaults -----------------------------------------------------------------

// --deny-loopback covers both families: ::1, and names (localhost) whose
// addresses are ::1, not only 127.0.0.0/8.
TEST(SecurityDefaults, DenyLoopbackCoversBothFamilies) {
    auto echo4 = test::echo_target("127.0.0.1");
    auto echo6 = test::echo_target("::1");
    ServerProcess proxy(kServer, {"--deny-loopback", "--map", "six.test=::1"});
    for (const Bytes& request :
         {request_ipv4("127.0.0.1", echo4.port()), request_ipv4("127.9.9.9", echo4.port()),
          request_ipv6("::1", echo6.port()), request_ipv6("::ffff:127.0.0.1", echo4.port()),
          request_domain("localhost", echo6.port()), request_domain("six.test", echo6.port())}) {
        EXPECT_EQ(socks5(proxy.endpoint(), request).reply, 0x02) << test::to_hex(request);
    }
}

// 169.254.169.254 answers with cloud credentials: denied by default, before
// any packet is sent, in every spelling. (Only the denial is tested: an
// allowed request would leave loopback.)
TEST(SecurityDefaults, LinkLocalAndMetadataDestinationsAreDeniedByDefault) {
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{}, {"--allow", "all"}}) {
        args.insert(args.end(), {"--map", "metadata.test=169.254.169.254"});
        ServerProcess proxy(kServer, args);
        for (const Bytes& request :
             {request_ipv4("169.254.169.254", 80), request_ipv6("::ffff:169.254.169.254", 80),
              request_ipv6("fe80::1", 80), request_domain("metadata.test", 80)}) {
            EXPECT_EQ(socks5(proxy.endpoint(), request).reply, 0x02) << test::to_hex(request);
        }
        EXPECT_TRUE(proxy.wait_for_log("default deny of link-local destinations", 5s, 4))
            << proxy.log();
    }
}

// TCP keepalive is on for the client's and the target's connection by
// default (`ss -o` shows the keepalive timer), and off with --keepalive 0.
TEST(SecurityDefaults, TcpKeepaliveIsOnByDefault) {
    ASSERT_TRUE(test::have_program("ss"));
    auto echo = test::echo_target();
    for (bool on : {true, false}) {
        ServerProcess proxy(kServer, on ? std::vector<std::string>{}
                                        : std::vector<std::string>{"--keepalive", "0"});
        Session session = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()));
        ASSERT_EQ(session.reply, 0x00) << proxy.log();
        ASSERT_EQ(round_trip(session.socket, "hi"), "hi");
        // ss shows one timer per socket: while the last bytes wait for their
        // ACK it is the retransmission timer ("on"); look again until it is not.
        test::CommandResult sockets;
        for (int look = 0; look < 100; ++look) {
            sockets = test::run_command({"ss", "-tnoH", "state", "established",
                                         "sport = :" + std::to_string(proxy.port())});
            if (sockets.out.find("timer:(on") == std::string::npos) break;
        }
        EXPECT_NE(sockets.out.find("127.0.0.1:" + std::to_string(proxy.port())), std::string::npos)
            << sockets.out << sockets.err;
        EXPECT_EQ(sockets.out.find("keepalive") != std::string::npos, on) << sockets.out;
    }
}

// ---- --user secrets ------------------------------------------------------------------

// Every local user can read /proc/PID/cmdline: once parsed, a --user password
// is overwritten there. (It still logs in.)
TEST(SecurityCredentials, AUserPasswordIsHiddenFromTheCommandLine) {
    auto echo = test::echo_target();
    const std::string password = "Zq8-cmdline-Pw";
    ServerProcess proxy(kServer, {"--user", "alice:" + password, "--user=bob:" + password});
    std::ifstream file("/proc/" + std::to_string(proxy.pid()) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_NE(cmdline.find("alice:"), std::string::npos) << cmdline;
    EXPECT_EQ(cmdline.find(password), std::string::npos) << "the password is in /proc/PID/cmdline";
    EXPECT_EQ(cmdline.find("Zq8"), std::string::npos);
    Session session = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()),
                             Credentials{"alice", password});
    EXPECT_EQ(session.reply, 0x00) << proxy.log();
}

}  // namespace
}  // namespace socks::faults
