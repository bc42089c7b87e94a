// Every recorded chapter-04 session (tests/captures/04-*.txt) replayed byte for
// byte: against the handler socks5-request runs, and against the program itself,
// with a live loopback target (or a closed port where the capture was refused).
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "capture.hpp"
#include "echo.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using test::Capture;
using test::CaptureStep;
using test::Split;

const CaptureStep* find_step(const Capture& capture, const std::string& name) {
    for (const CaptureStep& step : capture.steps) {
        if (step.name == name) return &step;
    }
    return nullptr;
}

// Where the capture's {target-port} must lead: a live echo target on the
// address family the request names, or a closed port when the recorded
// reply was 05 (connection refused).
struct TargetForCapture {
    std::optional<test::BackgroundServer> live;
    std::uint16_t port = 0;

    explicit TargetForCapture(const Capture& capture) {
        if (!test::uses_target_port(capture)) return;
        const CaptureStep* request = find_step(capture, "request");
        const CaptureStep* reply = find_step(capture, "reply");
        if (reply != nullptr && reply->bytes.size() > 1 && reply->bytes[1] == 0x05) {
            port = test::closed_port();
            return;
        }
        bool ipv6 = request != nullptr && request->bytes.size() > 3 && request->bytes[3] == 0x04;
        live.emplace(echo_session, ipv6 ? "::1" : "127.0.0.1");
        port = live->port();
    }
};

// Chapter 04 has no relay: after a successful reply the server closes. The
// captures stop at the reply (curl's HTTP request is only a comment), so the
// close is added here and checked too.
Capture with_close_after_success(Capture capture) {
    if (!capture.steps.empty() && capture.steps.back().kind != CaptureStep::Kind::ServerCloses) {
        CaptureStep close{};
        close.kind = CaptureStep::Kind::ServerCloses;
        close.line = capture.steps.back().line;
        capture.steps.push_back(close);
    }
    return capture;
}

const char* split_name(Split split) {
    switch (split) {
        case Split::AsRecorded:
            return "AsRecorded";
        case Split::ByteByByte:
            return "ByteByByte";
        case Split::Coalesced:
            return "Coalesced";
    }
    return "?";
}

std::string test_name(const std::string& file) {
    std::string name = file.substr(3, file.size() - 3 - 4);  // "04-" ... ".txt"
    for (char& c : name)
        if (c == '-') c = '_';
    return name;
}

const Split kSplits[] = {Split::AsRecorded, Split::ByteByByte, Split::Coalesced};

TEST(RequestCaptures, AllRecordedSessionsArePresent) {
    auto names = test::list_captures("04-");
    for (const char* expected :
         {"04-curl-socks5-ipv4.txt", "04-curl-socks5-hostname.txt", "04-curl-socks5-ipv6.txt",
          "04-curl-proxy-user.txt", "04-curl-closed-port.txt", "04-curl-unresolvable.txt",
          "04-ncat-socks5.txt", "04-pysocks-rdns.txt"}) {
        EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
    }
}

class RequestCapture : public testing::TestWithParam<std::string> {};

TEST_P(RequestCapture, ReplaysAgainstTheHandler) {
    Capture capture = with_close_after_success(test::load_capture(GetParam()));
    auto handler = test::chapter04_handler(test::users_from_flags(test::server_flags(capture)));
    for (Split split : kSplits) {
        TargetForCapture target(capture);
        EXPECT_TRUE(test::replay(capture, handler, split, target.port)) << split_name(split);
    }
}

TEST_P(RequestCapture, ReplaysAgainstTheProgram) {
    Capture capture = with_close_after_success(test::load_capture(GetParam()));
    test::ServerProcess server(test::kRequestProgram, test::server_flags(capture));
    for (Split split : kSplits) {
        TargetForCapture target(capture);
        EXPECT_TRUE(test::replay(capture, server.endpoint(), split, target.port))
            << split_name(split) << "\nserver log:\n"
            << server.log();
    }
    EXPECT_TRUE(server.running());
}

INSTANTIATE_TEST_SUITE_P(Ch04, RequestCapture, testing::ValuesIn(test::list_captures("04-")),
                         [](const testing::TestParamInfo<std::string>& param) {
                             return test_name(param.param);
                         });

}  // namespace
}  // namespace socks
