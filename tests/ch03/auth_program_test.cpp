// socks5-auth end to end: the security promises of chapter 03, then real curl.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "capture.hpp"
#include "client.hpp"
#include "handshake_support.hpp"
#include "process.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::ProgramStdout;
using test::ServerProcess;

const char* const kProgram = "03-auth/socks5-auth";

// A client that authenticates as alice:secret and then sends `text`, which
// the program must show in its hex dump.
void authenticate_and_send(const Endpoint& server, std::string_view text) {
    auto capture = test::parse_capture(
        "C> greeting: 05 03 00 01 02\nS> method-selection: 05 02\n"
        "C> auth: 01 05 \"alice\" 06 \"secret\"\nS> auth-status: 01 00\n"
        "C> data: \"" +
            std::string(text) + "\"\n",
        "authenticated client");
    EXPECT_TRUE(test::replay(capture, server));
}

TEST(AuthProgram, WithUsersConfiguredAnOfferOfOnlyNoAuthIsRefused) {
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    auto capture = test::parse_capture(
        "C> greeting: 05 01 00\nS> method-selection: 05 ff\nS> (close)", "no-auth only");
    EXPECT_TRUE(test::replay(capture, server.endpoint()));
}

TEST(AuthProgram, CurlsOfferOfNoAuthGssapiAndPasswordGetsPassword) {
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    // Picking 00 here would let anyone in: curl always offers it.
    auto capture =
        test::parse_capture("C> greeting: 05 03 00 01 02\nS> method-selection: 05 02", "curl");
    EXPECT_TRUE(test::replay(capture, server.endpoint()));
}

TEST(AuthProgram, WithoutUsersNoAuthIsChosenAsInChapter02) {
    ServerProcess server(kProgram);
    auto capture =
        test::parse_capture("C> greeting: 05 03 00 01 02\nS> method-selection: 05 00", "curl");
    EXPECT_TRUE(test::replay(capture, server.endpoint()));
}

TEST(AuthProgram, AFailedAuthenticationNeverProceeds) {
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    ProgramStdout dump(server.pid());

    // After 01 01 the server closes; what the client sends then is never read.
    auto rejected = test::parse_capture(
        "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
        "C> auth: 01 05 \"alice\" 05 \"wrong\"\nS> auth-status: 01 01\n"
        "C> data: \"LEAKED-AFTER\"\nS> (close)",
        "rejected client");
    EXPECT_TRUE(test::replay(rejected, server.endpoint()));
    ASSERT_TRUE(server.wait_for_log("authentication failed for user 'alice'")) << server.log();

    // A pipelining client: wrong password and a request in one write, before
    // reading anything. The request is behind a failed authentication.
    {
        Fd client = test::connect_client(server.endpoint());
        write_all(client,
                  test::hex("05 01 02  01 05 \"alice\" 05 \"wrong\"  \"LEAKED-PIPELINED\""));
        std::uint8_t buffer[64];
        try {
            while (read_some(client, buffer) > 0) {
            }
        } catch (const std::system_error&) {
            // A close with our bytes unread reaches us as a reset: also a close.
        }
    }
    ASSERT_TRUE(server.wait_for_log("authentication failed for user 'alice'", 10s, 2))
        << server.log();

    // A control client passes. Its dump is written after the rejected sessions
    // ended, so once it is on stdout anything they could have caused is too.
    authenticate_and_send(server.endpoint(), "CONTROL");
    ASSERT_TRUE(dump.wait_for("|CONTROL|")) << "stdout:\n" << dump.text();
    EXPECT_EQ(dump.text().find("LEAKED"), std::string::npos)
        << "bytes sent after a failed authentication were hex-dumped:\n"
        << dump.text();
    ASSERT_TRUE(server.wait_for_log("past the handshake")) << server.log();
    EXPECT_EQ(server.log().find("closed after sending 0 bytes"), std::string::npos)
        << "a rejected session went on to the hex dump:\n"
        << server.log();
}

TEST(AuthProgram, PasswordsNeverAppearInTheLog) {
    ServerProcess server(kProgram, {"--user", "alice:s3cret-PASS", "--user", "bob:b0b-PASS"});
    auto exchange = [&](const std::string& auth, const char* status) {
        auto capture = test::parse_capture(
            "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
            "C> auth: " +
                auth + "\nS> auth-status: " + status,
            "login");
        EXPECT_TRUE(test::replay(capture, server.endpoint()));
    };
    exchange("01 05 \"alice\" 0b \"s3cret-PASS\"", "01 00");   // right
    exchange("01 05 \"alice\" 0b \"Wr0ng-GUESS\"", "01 01");   // wrong password
    exchange("01 03 \"bob\" 0b \"s3cret-PASS\"", "01 01");     // alice's password for bob
    exchange("01 07 \"mallory\" 0a \"m4l-GUESS!\"", "01 01");  // unknown user
    exchange("02 05 \"alice\" 0b \"s3cret-PASS\"", "01 01");   // bad VER, password behind it
    ASSERT_TRUE(server.wait_for_log("authentication failed", 10s, 3)) << server.log();
    ASSERT_TRUE(server.wait_for_log("auth VER is 02")) << server.log();
    EXPECT_EQ(server.stop(SIGTERM), 0);

    std::string log = server.log();
    for (const char* secret : {"s3cret", "Wr0ng", "b0b-PASS", "m4l-GUESS"}) {
        EXPECT_EQ(log.find(secret), std::string::npos)
            << "the log contains the password text '" << secret << "':\n"
            << log;
    }
    // Names help the operator and are not secret.
    EXPECT_NE(log.find("'alice'"), std::string::npos) << log;
    EXPECT_NE(log.find("'mallory'"), std::string::npos) << log;
}

TEST(AuthProgram, RejectsBadUserOptionsWithoutEchoingThePassword) {
    for (const char* option : {"alice", ":topsecret", "alice-no-colon-topsecret"}) {
        auto result = test::run_command({test::program_path(kProgram), "--user", option}, {}, 10s);
        EXPECT_EQ(result.exit_code, 2) << "--user " << option << ": " << result.err;
        EXPECT_NE(result.err.find("--user"), std::string::npos) << result.err;
        EXPECT_EQ(result.err.find("topsecret"), std::string::npos)
            << "the error message repeats the password: " << result.err;
    }
}

// --- real curl ----------------------------------------------------------------

// curl's CONNECT request for http://127.0.0.1:8080/. Chapter 03 never connects
// anywhere, so nothing needs to listen on 8080 (and nothing is contacted).
const char* const kCurlIpv4Request =
    "00000000  05 01 00 01 7f 00 00 01  1f 90                    |..........|\n";

TEST(AuthProgramWithCurl, RightPasswordPassesAndTheRequestIsDumped) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    ProgramStdout dump(server.pid());
    // No CONNECT reply ever comes in chapter 03: curl gives up after --max-time.
    auto curl = test::run_command({"curl", "-sS", "--max-time", "2", "--socks5", server.proxy(),
                                   "--proxy-user", "alice:secret", "http://127.0.0.1:8080/"});
    EXPECT_EQ(curl.exit_code, 28) << "curl should have passed authentication and then timed out "
                                  << "waiting for the CONNECT reply; curl said: " << curl.err;
    EXPECT_TRUE(dump.wait_for(kCurlIpv4Request)) << "stdout:\n"
                                                 << dump.text() << "\nlog:\n"
                                                 << server.log();
    EXPECT_EQ(server.log().find("authentication failed"), std::string::npos) << server.log();
}

TEST(AuthProgramWithCurl, WrongPasswordFailsAndIsLogged) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    auto curl = test::run_command({"curl", "-sS", "--max-time", "5", "--socks5", server.proxy(),
                                   "--proxy-user", "alice:wrong", "http://127.0.0.1:8080/"});
    EXPECT_EQ(curl.exit_code, 97) << "curl: " << curl.err;  // CURLE_PROXY
    EXPECT_NE(curl.err.find("rejected"), std::string::npos) << curl.err;
    EXPECT_TRUE(server.wait_for_log("authentication failed for user 'alice'")) << server.log();
    EXPECT_EQ(server.log().find("wrong"), std::string::npos) << server.log();
}

TEST(AuthProgramWithCurl, WithoutCredentialsCurlGetsNoAcceptableMethod) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    auto curl = test::run_command(
        {"curl", "-sS", "--max-time", "5", "--socks5", server.proxy(), "http://127.0.0.1:8080/"});
    EXPECT_EQ(curl.exit_code, 97) << "curl: " << curl.err;
    EXPECT_NE(curl.err.find("No authentication method was acceptable"), std::string::npos)
        << curl.err;
    EXPECT_TRUE(server.wait_for_log("client offered [00 01], server needs USERNAME/PASSWORD"))
        << server.log();
}

TEST(AuthProgramWithCurl, EmptyPasswordWorksWhenConfiguredAsNameColon) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram, {"--user", "alice:"});
    ProgramStdout dump(server.pid());
    // socks5h: the proxy gets the name "localhost" (ATYP 03); curl resolves nothing.
    auto curl = test::run_command({"curl", "-sS", "--max-time", "2", "-x",
                                   "socks5h://alice:@" + server.proxy(), "http://localhost:8080/"});
    EXPECT_EQ(curl.exit_code, 28) << "curl: " << curl.err;
    EXPECT_TRUE(dump.wait_for(
        "00000000  05 01 00 03 09 6c 6f 63  61 6c 68 6f 73 74 1f 90  |.....localhost..|\n"))
        << "stdout:\n"
        << dump.text() << "\nlog:\n"
        << server.log();
}

TEST(AuthProgramWithCurl, EmptyPasswordIsRefusedWhenTheAccountHasOne) {
    ASSERT_TRUE(test::have_program("curl")) << "curl is required for this test";
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    auto curl = test::run_command({"curl", "-sS", "--max-time", "5", "-x",
                                   "socks5h://alice:@" + server.proxy(), "http://localhost:8080/"});
    EXPECT_EQ(curl.exit_code, 97) << "curl: " << curl.err;
    EXPECT_TRUE(server.wait_for_log("authentication failed for user 'alice'")) << server.log();
}

// As in chapter 02: each refusal with the client's next bytes already queued
// behind it must arrive whole, followed by FIN, in every one of 200 runs.
TEST(AuthProgram, EveryRefusalArrivesWholeWhenBytesArePipelinedBehindIt) {
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    const std::pair<const char*, const char*> refusals[] = {
        {"only NO AUTHENTICATION offered",
         "C> greeting: 05 01 00\nC> request: 05 01 00 01 7f 00 00 01 1f 90\n"
         "S> method-selection: 05 ff\nS> (fin)"},
        {"wrong password",
         "C> greeting: 05 01 02\nC> auth: 01 05 \"alice\" 05 \"wrong\"\n"
         "C> request: 05 01 00 01 7f 00 00 01 1f 90\n"
         "S> method-selection: 05 02\nS> auth-status: 01 01\nS> (fin)"},
        {"auth VER 05 instead of 01",
         "C> greeting: 05 01 02\nC> auth: 05 05 \"alice\" 06 \"secret\"\n"
         "C> request: 05 01 00 01 7f 00 00 01 1f 90\n"
         "S> method-selection: 05 02\nS> auth-status: 01 01\nS> (fin)"},
    };
    for (const auto& [what, text] : refusals) {
        EXPECT_TRUE(
            test::replay_repeatedly(test::parse_capture(text, what), server.endpoint(), 200))
            << server.log();
    }
}

// --trace: the RFC 1929 messages field by field; the password only as its length.
TEST(AuthProgram, TraceShowsTheLoginButNeverThePassword) {
    ServerProcess server(kProgram, {"--user", "alice:s3cr3t-pw", "--trace"});
    Fd client = test::connect_client(server.endpoint());
    Bytes login = test::hex("05 01 02");
    Bytes credentials = test::user_pass("alice", "s3cr3t-pw");
    login.insert(login.end(), credentials.begin(), credentials.end());
    write_all(client, login);
    Bytes answer(4);
    ASSERT_TRUE(read_exact(client, answer));
    EXPECT_EQ(test::to_hex(answer), "05 02 01 00");
    EXPECT_TRUE(
        server.wait_for_log(" C> auth (17 bytes)\n"
                            "    01                          VER        1 (RFC 1929)\n"
                            "    05                          ULEN       5\n"
                            "    61 6c 69 63 65              UNAME      \"alice\"\n"
                            "    09                          PLEN       9\n"
                            "    **                          PASSWD     (9 bytes, hidden)\n"))
        << server.log();
    EXPECT_TRUE(
        server.wait_for_log(" S> auth-status (2 bytes)\n"
                            "    01                          VER        1 (RFC 1929)\n"
                            "    00                          STATUS     success\n"))
        << server.log();
    EXPECT_EQ(server.log().find("s3cr3t"), std::string::npos) << server.log();
}

}  // namespace
}  // namespace socks
