// The socket layer: addresses, short reads and writes, descriptor ownership, the server loop.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "net.hpp"
#include "process.hpp"
#include "server.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;

TEST(ParseEndpoint, AcceptsIpv4Ipv6AndNames) {
    auto v4 = parse_endpoint("127.0.0.1:1080");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 1080);
    auto v6 = parse_endpoint("[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 0);
    auto name = parse_endpoint("localhost:65535");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->port, 65535);
    EXPECT_EQ(to_string(*v6), "[::1]:0");
}

TEST(ParseEndpoint, RejectsMalformed) {
    for (const char* bad : {"", "127.0.0.1", ":1080", "127.0.0.1:", "127.0.0.1:65536",
                            "127.0.0.1:12x", "::1:1080", "[::1]1080", "[::1]:"}) {
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
    }
}

struct SocketPair {
    Fd a, b;
};
SocketPair socket_pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    return {Fd(fds[0]), Fd(fds[1])};
}

TEST(ReadExact, ReassemblesBytesSentOneAtATime) {
    auto [reader, writer] = socket_pair();
    set_receive_timeout(reader, 5s);
    std::thread sender([&writer] {
        for (std::uint8_t b = 1; b <= 10; ++b)
            write_all(writer, ByteView(&b, 1));
    });
    std::uint8_t buffer[10];
    EXPECT_TRUE(read_exact(reader, buffer));
    sender.join();
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(buffer[i], i + 1);
}

TEST(ReadExact, ReportsEndOfStreamBeforeTheMessageIsComplete) {
    auto [reader, writer] = socket_pair();
    set_receive_timeout(reader, 5s);
    write_all(writer, std::string_view("abc"));
    writer = Fd();
    std::uint8_t buffer[4];
    EXPECT_FALSE(read_exact(reader, buffer));
    EXPECT_EQ(buffer[0], 'a');
}

TEST(ReadSome, TimesOutWithEtimedout) {
    auto [reader, writer] = socket_pair();
    set_receive_timeout(reader, 50ms);
    std::uint8_t buffer[1];
    try {
        read_some(reader, buffer);
        FAIL() << "read_some returned without data";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), ETIMEDOUT);
        EXPECT_NE(std::string(error.what()).find("recv"), std::string::npos) << error.what();
    }
}

TEST(WriteAll, DeliversMoreThanTheSocketBufferHolds) {
    auto [reader, writer] = socket_pair();
    int small = 4096;
    ::setsockopt(writer.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    set_receive_timeout(reader, 5s);
    Bytes data(1 << 20);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(i * 7);
    std::thread sender([&] { write_all(writer, data); });
    Bytes got(data.size());
    EXPECT_TRUE(read_exact(reader, got));
    sender.join();
    EXPECT_EQ(got, data);
}

TEST(WriteAll, PeerGoneGivesEpipeNotSigpipe) {
    auto [reader, writer] = socket_pair();
    reader = Fd();
    // With SIGPIPE at its default, a plain write() would kill this test binary.
    try {
        write_all(writer, std::string_view("x"));
        FAIL() << "write to a closed peer succeeded";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), EPIPE);
    }
}

TEST(Fd, ClosesExactlyOnceAndMovesOwnership) {
    int raw[2];
    ASSERT_EQ(::pipe(raw), 0);
    ::close(raw[1]);
    {
        Fd first(raw[0]);
        Fd second(std::move(first));
        EXPECT_FALSE(first);
        EXPECT_EQ(second.get(), raw[0]);
        EXPECT_NE(::fcntl(raw[0], F_GETFD), -1);
    }
    EXPECT_EQ(::fcntl(raw[0], F_GETFD), -1);  // closed by second's destructor
}

TEST(Server, StopEndsServeAndShutsDownLiveSessions) {
    std::atomic<int> finished{0};
    std::promise<void> started;
    Server server({{"127.0.0.1", 0}}, [&](const Fd& client, const SocketAddress&) {
        // Counted however the session ends: stop() resets the connection, so
        // the blocked read below ends with an error, not with EOF.
        struct CountOnExit {
            std::atomic<int>& count;
            ~CountOnExit() { ++count; }
        } counter{finished};
        std::uint8_t byte;
        if (read_some(client, std::span(&byte, 1)) > 0) started.set_value();
        while (read_some(client, std::span(&byte, 1)) > 0) {
        }
    });
    Endpoint endpoint{"127.0.0.1", server.addresses().front().port()};
    std::thread serving([&server] { server.serve(); });
    // An idle client holds a session open; stop() must still end it.
    Fd idle = test::connect_client(endpoint);
    write_all(idle, std::string_view("x"));
    ASSERT_EQ(started.get_future().wait_for(5s), std::future_status::ready);
    server.stop();
    serving.join();
    EXPECT_EQ(server.active_sessions(), 0u);
    EXPECT_EQ(finished.load(), 1);
    // The client learns its session was cut: a reset, not a clean end of stream.
    std::uint8_t byte;
    try {
        read_some(idle, std::span(&byte, 1));
        ADD_FAILURE() << "a session cut by stop() ended with a clean EOF";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), ECONNRESET);
    }
}

TEST(Server, ReportsAPortThatIsTaken) {
    Fd taken = listen_tcp({"127.0.0.1", 0});
    std::uint16_t port = local_address(taken).port();
    try {
        Server server({{"127.0.0.1", port}}, [](const Fd&, const SocketAddress&) {});
        FAIL() << "listening twice on port " << port << " succeeded";
    } catch (const std::system_error& error) {
        EXPECT_NE(std::string(error.what()).find("bind"), std::string::npos) << error.what();
    }
}

}  // namespace
}  // namespace socks
