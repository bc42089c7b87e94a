// Chapter 06 still speaks everything chapters 02-04 learned: every capture
// replays against the real socks5-server, started with the flags on the
// capture's "# server:" line, with live targets for the successful requests.
#include <gtest/gtest.h>

#include <sstream>

#include "capture.hpp"
#include "helpers.hpp"
#include "target.hpp"

namespace socks::ch06 {
namespace {

TEST(Captures, EveryEarlierCaptureReplaysAgainstTheServer) {
    auto v4 = test::echo_target("127.0.0.1");
    auto v6 = test::echo_target("::1");
    auto names = test::list_captures("04-");
    ASSERT_GE(names.size(), 10u);
    for (const std::string& name : names) {
        test::Capture capture = test::load_capture(name);
        ServerProcess proxy(kServer, test::server_flags(capture));
        std::uint16_t port = test::target_port_for(name, v4.port(), v6.port());
        for (auto split :
             {test::Split::AsRecorded, test::Split::ByteByByte, test::Split::Coalesced}) {
            EXPECT_TRUE(test::replay(capture, proxy.endpoint(), split, port))
                << name << " (split mode " << static_cast<int>(split) << ")\n"
                << proxy.log();
        }
    }
}

// Every kind of refusal the full server sends, with the client's next bytes
// already queued behind the refused message: the whole reply, then FIN (not a
// reset that makes the client drop the reply), in every one of 200 runs.
TEST(Captures, EveryRefusalArrivesWholeWhenBytesArePipelinedBehindIt) {
    std::uint16_t closed = test::closed_port();
    ServerProcess with_user(kServer, {"--user", "alice:secret"});
    ServerProcess with_rule(kServer, {"--deny", "to=127.0.0.2"});
    const char* const http = "C> data: \"GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\"\n";
    struct Refusal {
        const char* what;
        const ServerProcess& server;
        std::string capture;
    };
    const Refusal refusals[] = {
        {"only NO AUTHENTICATION offered while --user is set", with_user,
         "C> greeting: 05 01 00\nC> request: 05 01 00 01 7f 00 00 01 {target-port}\n"
         "S> method-selection: 05 ff\nS> (fin)"},
        {"wrong password", with_user,
         "C> greeting: 05 01 02\nC> auth: 01 05 \"alice\" 05 \"wrong\"\n"
         "C> request: 05 01 00 01 7f 00 00 01 {target-port}\n"
         "S> method-selection: 05 02\nS> auth-status: 01 01\nS> (fin)"},
        {"SOCKS4 while --user is set", with_user,
         "C> socks4-request: 04 01 {target-port} 7f 00 00 01 00\n" + std::string(http) +
             "S> socks4-reply: 00 5b .. .. .. .. .. ..\nS> (fin)"},
        {"CONNECT denied by a rule", with_rule,
         "C> greeting: 05 01 00\nC> request: 05 01 00 01 7f 00 00 02 {target-port}\n" +
             std::string(http) +
             "S> method-selection: 05 00\n"
             "S> reply: 05 02 00 01 00 00 00 00 00 00\nS> (fin)"},
        {"CONNECT to a closed port", with_rule,
         "C> greeting: 05 01 00\nC> request: 05 01 00 01 7f 00 00 01 {target-port}\n" +
             std::string(http) +
             "S> method-selection: 05 00\n"
             "S> reply: 05 05 00 01 00 00 00 00 00 00\nS> (fin)"},
    };
    for (const auto& refusal : refusals) {
        EXPECT_TRUE(test::replay_repeatedly(test::parse_capture(refusal.capture, refusal.what),
                                            refusal.server.endpoint(), 200, closed))
            << refusal.server.log();
    }
}

}  // namespace
}  // namespace socks::ch06
