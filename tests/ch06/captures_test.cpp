// Chapter 06 still speaks everything chapters 02-04 learned: every capture
// replays against the real socks5-server, started with the flags on the
// capture's "# server:" line, with live targets for the successful requests.
#include <gtest/gtest.h>

#include <sstream>

#include "capture.hpp"
#include "helpers.hpp"

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

}  // namespace
}  // namespace socks::ch06
