// Real clients' RFC 1929 exchanges (tests/captures/04-*.txt) and bad
// authentication requests, replayed against chapter 03's handshake() and program.
#include <gtest/gtest.h>

#include <stdexcept>
#include <tuple>

#include "auth.hpp"
#include "capture.hpp"
#include "handshake_support.hpp"
#include "hexdump.hpp"
#include "process.hpp"

namespace socks {
namespace {

using test::Capture;
using test::ServerProcess;
using test::Split;

const char* const kProgram = "03-auth/socks5-auth";

// Exactly what socks5-auth's main() runs for each connection.
ConnectionHandler chapter03_session(const Users& users) {
    // A handler that throws also closes the connection: that must not pass for the
    // "(close)" a failed authentication expects (an unwritten stub throws).
    return [&users](const Fd& client, const SocketAddress& peer) {
        try {
            if (handshake(client, peer, users)) dump_until_closed(client, peer);
        } catch (const std::exception& error) {
            ADD_FAILURE() << "the handler threw instead of answering: " << error.what();
        }
    };
}

// The account the recorded server had: "# server: ... --user alice:secret".
std::string user_option_of(const Capture& capture) {
    for (const std::string& comment : capture.comments) {
        auto at = comment.find("--user ");
        if (comment.find("server:") == std::string::npos || at == std::string::npos) continue;
        std::string option = comment.substr(at + 7);
        return option.substr(0, option.find(' '));
    }
    return "";
}

// The captures with an RFC 1929 exchange (a step named "auth").
std::vector<std::string> auth_captures() {
    std::vector<std::string> names;
    for (const std::string& name : test::list_captures("04-")) {
        if (!test::step_bytes(test::load_capture(name), "auth").empty()) names.push_back(name);
    }
    return names;
}

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

TEST(Ch03Captures, CoverCurlNcatPysocksAndTheWrongAndEmptyPasswords) {
    auto names = auth_captures();
    for (const char* expected :
         {"04-curl-proxy-user.txt", "04-curl-empty-password.txt", "04-curl-wrong-password.txt",
          "04-ncat-socks5-auth.txt", "04-pysocks-auth.txt"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
    }
    for (const std::string& name : names) {
        EXPECT_NE(user_option_of(test::load_capture(name)), "")
            << name << " does not say which --user the recorded server had";
    }
}

// --- with --user: the captures up to the auth status -----------------------------

class AuthCaptureReplay : public testing::TestWithParam<std::tuple<std::string, Split>> {
  protected:
    void SetUp() override {
        Capture capture = test::load_capture(std::get<0>(GetParam()));
        user_option_ = user_option_of(capture);
        users_.add_from_option(user_option_);
        // The wrong-password capture ends "S> auth-status: 01 01" + "S> (close)".
        exchange_ = test::through_step(capture, "auth-status");
    }
    std::string user_option_;
    Users users_;
    Capture exchange_;
};

TEST_P(AuthCaptureReplay, AgainstTheHandler) {
    EXPECT_TRUE(test::replay(exchange_, chapter03_session(users_), std::get<1>(GetParam())))
        << "server accounts: --user " << user_option_;
}

TEST_P(AuthCaptureReplay, AgainstTheProgram) {
    ServerProcess server(kProgram, {"--user", user_option_});
    EXPECT_TRUE(test::replay(exchange_, server.endpoint(), std::get<1>(GetParam())))
        << "socks5-auth --user " << user_option_ << "\nlog:\n"
        << server.log();
}

auto param_name = [](const auto& test_info) {
    return test::capture_test_name(std::get<0>(test_info.param)) + "_" +
           test::split_name(std::get<1>(test_info.param));
};

INSTANTIATE_TEST_SUITE_P(Ch03, AuthCaptureReplay,
                         testing::Combine(testing::ValuesIn(auth_captures()),
                                          testing::ValuesIn(test::kAllSplits)),
                         param_name);

// --- without --user: chapter 03 negotiates exactly like chapter 02 --------------

class NoAuthCaptureReplay : public testing::TestWithParam<std::tuple<std::string, Split>> {};

TEST_P(NoAuthCaptureReplay, AgainstTheHandlerWithNoAccounts) {
    Users nobody;
    auto exchange =
        test::through_step(test::load_capture(std::get<0>(GetParam())), "method-selection");
    EXPECT_TRUE(test::replay(exchange, chapter03_session(nobody), std::get<1>(GetParam())));
}

INSTANTIATE_TEST_SUITE_P(Ch03, NoAuthCaptureReplay,
                         testing::Combine(testing::ValuesIn(no_auth_captures()),
                                          testing::Values(Split::AsRecorded, Split::ByteByByte)),
                         param_name);

// --- bad authentication requests, server configured with --user alice:secret ----

struct BadAuth {
    const char* name;
    const char* capture;
    const char* log_message;
};

const BadAuth kBadAuths[] = {
    {"OnlyNoAuthOffered", "C> greeting: 05 01 00\nS> method-selection: 05 ff\nS> (close)",
     "no acceptable method: client offered [00], server needs USERNAME/PASSWORD"},
    {"CurlWithoutCredentials", "C> greeting: 05 02 00 01\nS> method-selection: 05 ff\nS> (close)",
     "client offered [00 01]"},
    {"WrongAuthVersion",
     "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
     "C> auth: 05 05 \"alice\" 06 \"secret\"\nS> auth-status: 01 01\nS> (close)",
     "bad authentication request: auth VER is 05, not 01"},
    {"WrongPassword",
     "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
     "C> auth: 01 05 \"alice\" 07 \"secretX\"\nS> auth-status: 01 01\nS> (close)",
     "authentication failed for user 'alice'"},
    {"EmptyPassword",
     "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
     "C> auth: 01 05 \"alice\" 00\nS> auth-status: 01 01\nS> (close)",
     "authentication failed for user 'alice'"},
    {"EmptyName",
     "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
     "C> auth: 01 00 06 \"secret\"\nS> auth-status: 01 01\nS> (close)",
     "authentication failed for user ''"},
    {"TruncatedAuthThenClientCloses",
     "C> greeting: 05 01 02\nS> method-selection: 05 02\n"
     "C> auth: 01 05 \"ali\"\nC> (shutdown)\nS> (close)",
     "bad authentication request: connection closed"},
};

void PrintTo(const BadAuth& row, std::ostream* out) {
    *out << row.name;
}

class BadAuthReplay : public testing::TestWithParam<BadAuth> {};

TEST_P(BadAuthReplay, AgainstTheHandler) {
    Users users;
    users.add_from_option("alice:secret");
    EXPECT_TRUE(test::replay(test::parse_capture(GetParam().capture, GetParam().name),
                             chapter03_session(users)));
}

TEST_P(BadAuthReplay, AgainstTheProgramWhichThenServesTheNextClient) {
    const BadAuth& row = GetParam();
    ServerProcess server(kProgram, {"--user", "alice:secret"});
    EXPECT_TRUE(test::replay(test::parse_capture(row.capture, row.name), server.endpoint()));
    EXPECT_TRUE(server.wait_for_log(row.log_message)) << "log:\n" << server.log();

    auto control = test::parse_capture(
        "C> greeting: 05 03 00 01 02\nS> method-selection: 05 02\n"
        "C> auth: 01 05 \"alice\" 06 \"secret\"\nS> auth-status: 01 00",
        "control client");
    EXPECT_TRUE(test::replay(control, server.endpoint()));
}

INSTANTIATE_TEST_SUITE_P(Ch03, BadAuthReplay, testing::ValuesIn(kBadAuths),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
}  // namespace socks
