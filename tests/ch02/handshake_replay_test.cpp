// Real clients' greetings (tests/captures/04-*.txt, recorded with tshark) and a
// table of bad greetings, replayed against chapter 02's handler and program.
#include <gtest/gtest.h>

#include <stdexcept>
#include <tuple>

#include "capture.hpp"
#include "handshake.hpp"
#include "handshake_support.hpp"
#include "hexdump.hpp"
#include "process.hpp"

namespace socks {
namespace {

using test::Capture;
using test::ServerProcess;
using test::Split;

const char* const kProgram = "02-handshake/socks5-handshake";

// Exactly what socks5-handshake's main() runs for each connection.
// A handler that throws also closes the connection: that must not pass for the
// "(close)" a bad greeting expects (an unwritten stub throws).
void chapter02_session(const Fd& client, const SocketAddress& peer) {
    try {
        if (negotiate_method(client, peer, /*require_password=*/false))
            dump_until_closed(client, peer);
    } catch (const std::exception& error) {
        ADD_FAILURE() << "the handler threw instead of answering: " << error.what();
    }
}

// The captures in which the server chose NO AUTHENTICATION: chapter 02 must
// answer them exactly as the recorded server did.
std::vector<std::string> no_auth_captures() {
    std::vector<std::string> names;
    for (const std::string& name : test::list_captures("04-")) {
        Capture capture = test::load_capture(name);
        if (test::step_bytes(capture, "method-selection") == test::hex("05 00")) {
            names.push_back(name);
        }
    }
    return names;
}

Capture handshake_part(const std::string& name) {
    return test::through_step(test::load_capture(name), "method-selection");
}

TEST(Ch02Captures, IncludeCurlNcatAndPysocks) {
    // Guards the parameterised tests below against silently running on nothing.
    auto names = no_auth_captures();
    for (const char* expected :
         {"04-curl-socks5-ipv4.txt", "04-ncat-socks5.txt", "04-pysocks-rdns.txt"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
    }
}

class CaptureReplay : public testing::TestWithParam<std::tuple<std::string, Split>> {};

TEST_P(CaptureReplay, AgainstTheHandler) {
    auto [name, split] = GetParam();
    EXPECT_TRUE(test::replay(handshake_part(name), chapter02_session, split));
}

TEST_P(CaptureReplay, AgainstTheProgram) {
    auto [name, split] = GetParam();
    ServerProcess server(kProgram);
    EXPECT_TRUE(test::replay(handshake_part(name), server.endpoint(), split)) << server.log();
}

INSTANTIATE_TEST_SUITE_P(Ch02, CaptureReplay,
                         testing::Combine(testing::ValuesIn(no_auth_captures()),
                                          testing::ValuesIn(test::kAllSplits)),
                         [](const auto& test_info) {
                             return test::capture_test_name(std::get<0>(test_info.param)) + "_" +
                                    test::split_name(std::get<1>(test_info.param));
                         });

// --- bad greetings ------------------------------------------------------------

struct BadGreeting {
    const char* name;
    const char* capture;      // inline capture text
    const char* log_message;  // what the program's log must say about it
};

const BadGreeting kBadGreetings[] = {
    {"WrongVersion", "C> greeting: 04 01 00\nS> (close)", "bad greeting: VER is 04, not 05"},
    {"HttpRequest", "C> data: \"GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n\"\nS> (close)",
     "bad greeting: VER is 47, not 05"},
    {"NoMethodsOffered", "C> greeting: 05 00\nS> (close)", "NMETHODS is 0"},
    {"OnlyUsernamePasswordOffered", "C> greeting: 05 01 02\nS> method-selection: 05 ff\nS> (close)",
     "no acceptable method: client offered [02]"},
    {"OnlyUnknownMethodsOffered",
     "C> greeting: 05 03 99 21 10\nS> method-selection: 05 ff\nS> (close)",
     "no acceptable method: client offered [99 21 10]"},
    {"TruncatedThenClientCloses", "C> greeting: 05 02 00\nC> (shutdown)\nS> (close)",
     "connection closed after 3 bytes of a message"},
};

void PrintTo(const BadGreeting& row, std::ostream* out) {
    *out << row.name;
}

class BadGreetingReplay : public testing::TestWithParam<BadGreeting> {};

TEST_P(BadGreetingReplay, AgainstTheHandler) {
    const BadGreeting& row = GetParam();
    EXPECT_TRUE(test::replay(test::parse_capture(row.capture, row.name), chapter02_session));
}

TEST_P(BadGreetingReplay, AgainstTheProgramWhichThenServesTheNextClient) {
    const BadGreeting& row = GetParam();
    ServerProcess server(kProgram);
    EXPECT_TRUE(test::replay(test::parse_capture(row.capture, row.name), server.endpoint()));
    EXPECT_TRUE(server.wait_for_log(row.log_message)) << "log:\n" << server.log();

    auto control =
        test::parse_capture("C> greeting: 05 01 00\nS> method-selection: 05 00", "control client");
    EXPECT_TRUE(test::replay(control, server.endpoint()));
    EXPECT_TRUE(server.running());
}

INSTANTIATE_TEST_SUITE_P(Ch02, BadGreetingReplay, testing::ValuesIn(kBadGreetings),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace socks
