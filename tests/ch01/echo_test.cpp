// Chapter 01 against the real echo-server program.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>
#include <thread>

#include "capture.hpp"
#include "echo.hpp"
#include "process.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::ServerProcess;

const char* const kProgram = "01-echo-server/echo-server";

std::string echo_once(const Endpoint& server, std::string_view text) {
    Fd client = test::connect_client(server);
    write_all(client, text);
    std::string got(text.size(), '\0');
    EXPECT_TRUE(
        read_exact(client, std::span(reinterpret_cast<std::uint8_t*>(got.data()), got.size())));
    return got;
}

TEST(EchoServer, PrintsListeningLineWithTheRealPort) {
    ServerProcess server(kProgram);
    EXPECT_EQ(server.endpoint().host, "127.0.0.1");
    EXPECT_NE(server.port(), 0);  // port 0 was resolved to the kernel's choice
}

TEST(EchoServer, IdleClientDoesNotBlockAnother) {
    ServerProcess server(kProgram);
    Fd idle = test::connect_client(server.endpoint());
    write_all(idle, std::string_view("half a line, then silence"));
    // Served by its own thread while the first one waits.
    EXPECT_EQ(echo_once(server.endpoint(), "second client\n"), "second client\n");
    EXPECT_TRUE(server.wait_for_log("connected", 5s, 2));
}

TEST(EchoServer, EchoesEightMegabytesExactlyThroughShortReadsAndWrites) {
    ServerProcess server(kProgram);
    Bytes data(8 << 20);
    std::mt19937 random(2026);
    for (auto& b : data)
        b = static_cast<std::uint8_t>(random());

    // A small receive buffer makes the server's sends short; random-sized
    // writes make its reads short. Sending and receiving run at once.
    Fd client = connect_tcp(server.endpoint());
    int small = 64 * 1024;
    ::setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    set_receive_timeout(client, 20s);
    std::thread sender([&] {
        std::mt19937 sizes(7);
        for (std::size_t at = 0; at < data.size();) {
            std::size_t n = std::min<std::size_t>(1 + sizes() % 70000, data.size() - at);
            write_all(client, ByteView(data.data() + at, n));
            at += n;
        }
        ::shutdown(client.get(), SHUT_WR);
    });
    Bytes got;
    std::uint8_t buffer[3000];  // odd-sized reads on our side too
    while (std::size_t n = read_some(client, buffer))
        got.insert(got.end(), buffer, buffer + n);
    sender.join();
    ASSERT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data) << "echoed bytes differ";
    EXPECT_TRUE(server.wait_for_log("echoed 8388608 bytes"));
}

TEST(EchoServer, StopsCleanlyOnSigtermWithASessionOpen) {
    ServerProcess server(kProgram);
    Fd open_session = test::connect_client(server.endpoint());
    EXPECT_EQ(echo_once(server.endpoint(), "x"), "x");
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

// What docs/01-echo-server.md promises for Ctrl-C with sessions open: each is
// cut (the client sees a reset), logs its close line without a warning, then
// the server logs "stopped" and exits with 0.
TEST(EchoServer, CtrlCCutsOpenSessionsWithoutWarnings) {
    ServerProcess server(kProgram);
    Fd first = test::connect_client(server.endpoint());
    Fd second = test::connect_client(server.endpoint());
    ASSERT_TRUE(server.wait_for_log(" connected", 10s, 2)) << server.log();
    EXPECT_EQ(server.stop(SIGINT), 0) << server.log();
    std::string log = server.log();
    EXPECT_EQ(log.find(" WARN "), std::string::npos) << log;
    std::size_t cut = 0;
    for (auto at = log.find("(cut: the server is stopping)"); at != std::string::npos;
         at = log.find("(cut: the server is stopping)", at + 1))
        ++cut;
    EXPECT_EQ(cut, 2u) << log;
    EXPECT_NE(log.find(" INFO stopped\n"), std::string::npos) << log;
    std::uint8_t byte;
    EXPECT_THROW(read_some(first, std::span(&byte, 1)), std::system_error)
        << "the client of a cut session must see a reset, not a clean end";
}

TEST(EchoServer, APortClashNamesTheAddress) {
    ServerProcess first(kProgram);
    auto second = test::run_command({test::program_path(kProgram), "--listen", first.proxy()});
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.err.find("bind " + first.proxy() + ": Address already in use"),
              std::string::npos)
        << second.err;
}

TEST(EchoServer, StopsCleanlyOnSigint) {
    ServerProcess server(kProgram);
    EXPECT_EQ(server.stop(SIGINT), 0) << server.log();
}

TEST(EchoServer, SurvivesAClientThatDisconnectsMidWrite) {
    ServerProcess server(kProgram);
    {
        // Send 4 MiB and never read: the server's echo fills our receive buffer,
        // then we vanish. Its send() fails (EPIPE/ECONNRESET); SIGPIPE must not kill it.
        Fd rude = connect_tcp(server.endpoint());
        int small = 4096;
        ::setsockopt(rude.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        set_send_timeout(rude, 2s);
        Bytes junk(4 << 20, 'j');
        try {
            write_all(rude, junk);
        } catch (const std::system_error&) {
            // Expected once both directions are full: the send timeout fires.
        }
    }
    ASSERT_TRUE(server.wait_for_log("closed: echoed")) << server.log();
    EXPECT_TRUE(server.running());
    EXPECT_EQ(echo_once(server.endpoint(), "still here"), "still here");
}

TEST(EchoServer, RejectsABadListenAddress) {
    auto result = test::run_command({test::program_path(kProgram), "--listen", "nonsense"});
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.err.find("HOST:PORT"), std::string::npos) << result.err;
}

TEST(EchoCapture, NcSessionReplaysByteExact) {
    auto capture = test::load_capture("01-echo-nc.txt");
    EXPECT_TRUE(test::replay(capture, echo_session));
    EXPECT_TRUE(test::replay(capture, echo_session, test::Split::ByteByByte));
}

TEST(EchoCapture, NcSessionReplaysAgainstTheProgram) {
    ServerProcess server(kProgram);
    EXPECT_TRUE(test::replay(test::load_capture("01-echo-nc.txt"), server.endpoint()));
}

}  // namespace
}  // namespace socks
