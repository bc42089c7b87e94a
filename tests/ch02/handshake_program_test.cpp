// socks5-handshake end to end: real curl, split and coalesced greetings, and
// the hex dump of what the client sends after the handshake.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "capture.hpp"
#include "handshake_support.hpp"
#include "process.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::ProgramStdout;
using test::ServerProcess;

const char* const kProgram = "02-handshake/socks5-handshake";

// curl's CONNECT request for http://127.0.0.1:8080/. Chapter 02 never connects
// anywhere, so nothing needs to listen on 8080 (and nothing is contacted).
const char* const kCurlRequestRow =
    "00000000  05 01 00 01 7f 00 00 01  1f 90                    |..........|\n";

TEST(HandshakeProgram, CurlsRequestAppearsAsAHexDump) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram);
    ProgramStdout dump(server.pid());

    // The server answers the greeting and then only listens: curl waits for a
    // CONNECT reply that chapter 02 never sends, and gives up after --max-time.
    auto curl = test::run_command(
        {"curl", "-sS", "--max-time", "2", "--socks5", server.proxy(), "http://127.0.0.1:8080/"});
    EXPECT_EQ(curl.exit_code, 28) << "curl should time out waiting for the CONNECT reply; "
                                  << "curl said: " << curl.err;

    EXPECT_TRUE(dump.wait_for(std::string(" sent 10 bytes:\n") + kCurlRequestRow))
        << "expected the hex dump of curl's 10-byte request on stdout; stdout was:\n"
        << dump.text() << "\nlog:\n"
        << server.log();
    EXPECT_TRUE(server.wait_for_log("closed after sending 10 bytes past the handshake"))
        << server.log();
}

TEST(HandshakeProgram, GreetingSentOneByteAtATimeIsReassembled) {
    ServerProcess server(kProgram);
    auto capture = test::parse_capture(
        "C> greeting: 05 02 00 01\n"
        "S> method-selection: 05 00\n"
        "C> request: 05 01 00 01 7f 00 00 01 1f 90\n",
        "split greeting");
    EXPECT_TRUE(test::replay(capture, server.endpoint(), test::Split::ByteByByte));
    // The request bytes came one per write too, so the dump may show them in
    // several pieces; the server's count of them must still be exact.
    EXPECT_TRUE(server.wait_for_log("closed after sending 10 bytes past the handshake"))
        << server.log();
}

TEST(HandshakeProgram, BytesCoalescedWithTheGreetingAreDumpedNotSwallowed) {
    ServerProcess server(kProgram);
    ProgramStdout dump(server.pid());
    // Greeting and request in one write: the server must read exactly the
    // greeting's 4 bytes, answer, and leave the request for the hex dump.
    auto capture = test::parse_capture(
        "C> greeting: 05 02 00 01\n"
        "S> method-selection: 05 00\n"
        "C> request: 05 01 00 01 7f 00 00 01 1f 90\n",
        "coalesced greeting");
    EXPECT_TRUE(test::replay(capture, server.endpoint(), test::Split::Coalesced));
    EXPECT_TRUE(dump.wait_for(kCurlRequestRow)) << "stdout:\n"
                                                << dump.text() << "\nlog:\n"
                                                << server.log();
    EXPECT_TRUE(server.wait_for_log("closed after sending 10 bytes past the handshake"))
        << server.log();
}

TEST(HandshakeProgram, AClientThatNeverFinishesItsGreetingDoesNotBlockOthers) {
    ServerProcess server(kProgram);
    Fd stuck = test::connect_client(server.endpoint());
    write_all(stuck, test::hex("05 02 00"));  // one method byte short, then silence
    auto control =
        test::parse_capture("C> greeting: 05 01 00\nS> method-selection: 05 00", "control client");
    EXPECT_TRUE(test::replay(control, server.endpoint()));
}

TEST(HandshakeProgram, StopsCleanlyOnSigtermMidHandshake) {
    ServerProcess server(kProgram);
    Fd stuck = test::connect_client(server.endpoint());
    write_all(stuck, test::hex("05"));
    // Mid-handshake for real: the server waits for the rest of the greeting (a handler
    // that gave up, or a stub that threw, would have closed the connection by now).
    set_receive_timeout(stuck, 300ms);
    std::uint8_t byte[1];
    try {
        std::size_t n = read_some(stuck, byte);
        ADD_FAILURE() << "the server " << (n == 0 ? "closed the connection" : "answered")
                      << " after 1 byte of a greeting; it must wait for the rest. Log:\n"
                      << server.log();
    } catch (const std::system_error& error) {
        // Only the timeout means "still waiting"; a reset means the server closed it.
        EXPECT_EQ(error.code().value(), ETIMEDOUT)
            << "the server reset the connection after 1 byte of a greeting (" << error.what()
            << "); it must wait for the rest. Log:\n"
            << server.log();
    }
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

// Every refusal with bytes already queued behind the refused message, as a
// client that pipelines sends them. Closing with those bytes unread would make
// the kernel send RST, and the reset can destroy the refusal on its way
// (hang_up). 200 runs each: a lost reply shows up in some runs, not in all.
TEST(HandshakeProgram, EveryRefusalArrivesWholeWhenBytesArePipelinedBehindIt) {
    ServerProcess server(kProgram);
    const std::pair<const char*, const char*> refusals[] = {
        {"only USERNAME/PASSWORD offered",
         "C> greeting: 05 01 02\nC> request: 05 01 00 01 7f 00 00 01 1f 90\n"
         "S> method-selection: 05 ff\nS> (fin)"},
        {"a SOCKS4 request (VER 04)",
         "C> data: 04 01 1f 90 7f 00 00 01 00\nC> data: \"GET / HTTP/1.1\\r\\n\\r\\n\"\n"
         "S> (fin)"},
        {"NMETHODS 0", "C> greeting: 05 00\nC> request: 05 01 00 01 7f 00 00 01 1f 90\nS> (fin)"},
    };
    for (const auto& [what, text] : refusals) {
        EXPECT_TRUE(
            test::replay_repeatedly(test::parse_capture(text, what), server.endpoint(), 200))
            << server.log();
    }
}

// --trace: each message of the handshake, field by field, in the log.
TEST(HandshakeProgram, TraceShowsTheGreetingAndTheSelectionFieldByField) {
    ServerProcess server(kProgram, {"--trace"});
    Fd client = test::connect_client(server.endpoint());
    write_all(client, test::hex("05 02 00 02"));
    Bytes selection(2);
    ASSERT_TRUE(read_exact(client, selection));
    EXPECT_EQ(test::to_hex(selection), "05 00");
    EXPECT_TRUE(
        server.wait_for_log(" C> greeting (4 bytes)\n"
                            "    05                          VER        5\n"
                            "    02                          NMETHODS   2\n"
                            "    00 02                       METHODS    NO AUTHENTICATION "
                            "REQUIRED, USERNAME/PASSWORD\n"))
        << server.log();
    EXPECT_TRUE(
        server.wait_for_log(" S> method-selection (2 bytes)\n"
                            "    05                          VER        5\n"
                            "    00                          METHOD     NO AUTHENTICATION "
                            "REQUIRED\n"))
        << server.log();
}

}  // namespace
}  // namespace socks
