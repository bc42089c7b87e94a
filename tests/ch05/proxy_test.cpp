// Chapter 05's program as users run it: real curl and nc through it, large
// transfers, half-close, resets, and no leaked descriptors.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <future>
#include <thread>

#include "capture.hpp"
#include "client.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::random_text;
using test::ServerProcess;

const char* const kProgram = "05-relay/socks5-relay";

TEST(RelayProgram, CurlFetchesAFileByteIdenticalWithBothSocks5Modes) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required: apt-get install curl";
    std::string body = random_text(1 << 20, 5);
    test::HttpTarget web({{"/file.bin", {"application/octet-stream", body}}});
    ServerProcess proxy(kProgram);
    std::string port = std::to_string(web.port());
    for (const char* mode : {"--socks5", "--socks5-hostname"}) {
        auto result = test::run_command({"curl", "-sS", "--max-time", "20", mode, proxy.proxy(),
                                         "http://localhost:" + port + "/file.bin"});
        EXPECT_EQ(result.exit_code, 0) << mode << ": " << result.err;
        EXPECT_TRUE(result.out == body) << mode << ": body differs (" << result.out.size() << " of "
                                        << body.size() << " bytes)";
    }
    EXPECT_TRUE(proxy.wait_for_log("CONNECT localhost:" + port + " closed"));
    EXPECT_TRUE(proxy.wait_for_log("CONNECT 127.0.0.1:" + port + " closed")) << proxy.log();
}

// A deterministic byte stream and a checksum of it, so two ends can compare
// 256 MiB without keeping them.
struct Stream {
    std::uint64_t state;
    void fill(std::uint8_t* out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out[i] = static_cast<std::uint8_t>(state);
        }
    }
};
struct Checksum {
    std::uint64_t hash = 1469598103934665603ull, bytes = 0;
    void add(const std::uint8_t* data, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            hash = (hash ^ data[i]) * 1099511628211ull;
        bytes += n;
    }
};

// Sends `size` bytes of Stream{seed} and shuts down the write side; returns the sender's checksum.
Checksum send_stream(const Fd& socket, std::uint64_t seed, std::size_t size) {
    Stream stream{seed};
    Checksum sum;
    std::vector<std::uint8_t> buffer(1 << 16);
    for (std::size_t left = size; left > 0;) {
        std::size_t n = std::min(left, buffer.size());
        stream.fill(buffer.data(), n);
        sum.add(buffer.data(), n);
        write_all(socket, ByteView(buffer.data(), n));
        left -= n;
    }
    ::shutdown(socket.get(), SHUT_WR);
    return sum;
}

Checksum receive_all(const Fd& socket) {
    Checksum sum;
    std::vector<std::uint8_t> buffer(1 << 16);
    while (std::size_t n = read_some(socket, buffer))
        sum.add(buffer.data(), n);
    return sum;
}

TEST(RelayProgram, MovesQuarterGigabyteEachWayIntact) {
    constexpr std::size_t kSize = 256u << 20;
    std::promise<std::pair<Checksum, Checksum>> target_side;  // (sent, received)
    test::BackgroundServer target([&](const Fd& socket, const SocketAddress&) {
        set_receive_timeout(socket, 60s);
        auto sent = std::async(std::launch::async, [&] { return send_stream(socket, 2, kSize); });
        Checksum received = receive_all(socket);
        target_side.set_value({sent.get(), received});
    });
    ServerProcess proxy(kProgram);
    auto connection = test::socks5_connect(proxy.endpoint(), "127.0.0.1", target.port());
    ASSERT_EQ(connection.reply, 0);
    set_receive_timeout(connection.socket, 60s);
    auto sent =
        std::async(std::launch::async, [&] { return send_stream(connection.socket, 1, kSize); });
    Checksum received = receive_all(connection.socket);
    Checksum client_sent = sent.get();

    auto future = target_side.get_future();
    ASSERT_EQ(future.wait_for(60s), std::future_status::ready);
    auto [target_sent, target_received] = future.get();
    EXPECT_EQ(target_received.bytes, kSize);
    EXPECT_EQ(target_received.hash, client_sent.hash) << "client -> target bytes differ";
    EXPECT_EQ(received.bytes, kSize);
    EXPECT_EQ(received.hash, target_sent.hash) << "target -> client bytes differ";
    EXPECT_TRUE(proxy.wait_for_log("268435456 bytes up, 268435456 bytes down")) << proxy.log();
}

// The target answers only after it has seen the client's EOF.
void answer_after_eof(const Fd& socket, const SocketAddress&) {
    set_receive_timeout(socket, 10s);
    std::size_t total = 0;
    std::uint8_t buffer[4096];
    while (std::size_t n = read_some(socket, buffer))
        total += n;
    write_all(socket, "got " + std::to_string(total) + " bytes\n");
}

TEST(RelayProgram, HalfClosedClientReceivesTheCompleteResponse) {
    test::BackgroundServer target(answer_after_eof);
    ServerProcess proxy(kProgram);
    auto connection = test::socks5_connect(proxy.endpoint(), "127.0.0.1", target.port());
    ASSERT_EQ(connection.reply, 0);
    write_all(connection.socket, std::string_view("hello"));
    ::shutdown(connection.socket.get(), SHUT_WR);
    std::string got;
    std::uint8_t buffer[256];
    while (std::size_t n = read_some(connection.socket, buffer))
        got.append(reinterpret_cast<char*>(buffer), n);
    EXPECT_EQ(got, "got 5 bytes\n");
}

TEST(RelayProgram, OpenBsdNcWithShutdownOnEofGetsItsAnswer) {
    ASSERT_TRUE(test::have_program("nc"))
        << "OpenBSD nc is required: apt-get install netcat-openbsd";
    test::BackgroundServer target(answer_after_eof);
    ServerProcess proxy(kProgram);
    // nc -N shuts down its write side at the end of stdin, then waits for the answer.
    auto result = test::run_command(
        {"nc", "-N", "-X", "5", "-x", proxy.proxy(), "127.0.0.1", std::to_string(target.port())},
        "hello through socks");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, "got 19 bytes\n");
}

TEST(RelayProgram, ResetsOnEitherSideLeakNothingAndOthersAreServed) {
    ServerProcess proxy(kProgram);
    auto echo = test::echo_target();
    // Before any session. (A count taken right after a session's log line could
    // still include its sockets: they close just after the line is written.)
    const int baseline = proxy.open_descriptors();
    const int baseline_threads = proxy.threads();  // (a sanitizer may add threads of its own)
    ASSERT_GT(baseline, 0);

    // The target waits for a request, sends part of a response, then resets.
    test::BackgroundServer resetting_target([](const Fd& socket, const SocketAddress&) {
        set_receive_timeout(socket, 10s);
        std::uint8_t request;
        if (read_some(socket, std::span(&request, 1)) == 0) return;
        write_all(socket, std::string(100000, 'r'));
        linger hard{1, 0};
        ::setsockopt(socket.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    });
    // The target streams until the relay goes away.
    test::BackgroundServer streaming_target([](const Fd& socket, const SocketAddress&) {
        std::string chunk(65536, 's');
        try {
            for (int i = 0; i < 100000; ++i)
                write_all(socket, chunk);
        } catch (const std::system_error&) {
            // the proxy reset us: expected
        }
    });

    for (int round = 0; round < 20; ++round) {
        {
            auto c = test::socks5_connect(proxy.endpoint(), "127.0.0.1", resetting_target.port());
            ASSERT_EQ(c.reply, 0) << proxy.log();
            write_all(c.socket, std::string_view("?"));
            std::uint8_t buffer[65536];
            try {
                while (read_some(c.socket, buffer) > 0) {
                }
            } catch (const std::system_error& error) {
                EXPECT_EQ(error.code().value(), ECONNRESET);  // passed on as a reset
            }
        }
        {
            auto c = test::socks5_connect(proxy.endpoint(), "127.0.0.1", streaming_target.port());
            ASSERT_EQ(c.reply, 0) << proxy.log();
            std::uint8_t buffer[65536];
            ASSERT_GT(read_some(c.socket, buffer), 0u);
            linger hard{1, 0};
            ::setsockopt(c.socket.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        }  // client reset
    }
    EXPECT_TRUE(proxy.wait_for_log("Connection reset by peer", 10s, 40)) << proxy.log();
    EXPECT_TRUE(test::eventually([&] { return proxy.open_descriptors() == baseline; }, 10s))
        << "descriptors: " << proxy.open_descriptors() << ", baseline " << baseline;
    EXPECT_TRUE(test::eventually([&] { return proxy.threads() == baseline_threads; }, 10s))
        << "threads: " << proxy.threads() << ", baseline " << baseline_threads;
    // And the proxy still serves.
    auto control = test::socks5_connect(proxy.endpoint(), "127.0.0.1", echo.port());
    ASSERT_EQ(control.reply, 0);
    write_all(control.socket, std::string_view("still here"));
    std::uint8_t back[10];
    ASSERT_TRUE(read_exact(control.socket, back));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(back), 10), "still here");
}

TEST(RelayProgram, ManyConcurrentSessions) {
    ServerProcess proxy(kProgram);
    auto echo = test::echo_target();
    std::vector<test::Socks5Connection> sessions;
    for (int i = 0; i < 50; ++i) {
        sessions.push_back(test::socks5_connect(proxy.endpoint(), "127.0.0.1", echo.port()));
        ASSERT_EQ(sessions.back().reply, 0);
    }
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        std::string text = "session " + std::to_string(i);
        write_all(sessions[i].socket, text);
        std::string got(text.size(), '\0');
        ASSERT_TRUE(read_exact(sessions[i].socket,
                               std::span(reinterpret_cast<std::uint8_t*>(got.data()), got.size())));
        EXPECT_EQ(got, text);
    }
    sessions.clear();
    EXPECT_EQ(proxy.stop(), 0) << proxy.log();
}

// Every refusal this program can send, with the client's next bytes (curl's
// HTTP request, the rest of a request) already queued behind the refused
// message: the whole reply, then FIN, in every one of 200 runs.
TEST(RelayProgram, EveryRefusalArrivesWholeWhenBytesArePipelinedBehindIt) {
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    std::uint16_t closed = test::closed_port();
    for (const auto& [what, text] : test::request_refusals()) {
        EXPECT_TRUE(test::replay_repeatedly(test::parse_capture(text, what), server.endpoint(), 200,
                                            closed))
            << server.log();
    }
}

// --trace: the whole negotiation, never the relayed bytes.
TEST(RelayProgram, TraceShowsTheNegotiationButNotTheRelayedData) {
    auto echo = test::echo_target();
    ServerProcess proxy(kProgram, {"--trace"});
    auto connection = test::socks5_connect(proxy.endpoint(), "127.0.0.1", echo.port());
    ASSERT_EQ(connection.reply, 0x00) << proxy.log();
    write_all(connection.socket, std::string_view("relayed-not-traced"));
    char back[18];
    ASSERT_TRUE(read_exact(connection.socket,
                           std::span(reinterpret_cast<std::uint8_t*>(back), sizeof back)));
    EXPECT_TRUE(
        proxy.wait_for_log(" S> reply (10 bytes)\n"
                           "    05                          VER        5\n"
                           "    00                          REP        succeeded\n"))
        << proxy.log();
    EXPECT_NE(proxy.log().find(" C> greeting (3 bytes)\n"), std::string::npos) << proxy.log();
    EXPECT_EQ(proxy.log().find("72 65 6c 61"), std::string::npos) << "relayed bytes traced";
}

}  // namespace
}  // namespace socks
