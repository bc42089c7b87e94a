// A flood past --max-connections: the clients past the limit are closed at
// once without an answer, the sessions already running keep relaying, and
// once the flood leaves, new clients are served again.
#include <gtest/gtest.h>

#include <vector>

#include "helpers.hpp"

namespace socks::faults {
namespace {

TEST(FaultsFlood, ClientsPastMaxConnectionsAreRefusedAndServiceRecovers) {
    constexpr int kLimit = 20;
    constexpr int kFlood = 300;
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--max-connections", std::to_string(kLimit),
                                  "--handshake-timeout", "60", "--log-level", "warn"});
    const int base_threads = proxy.threads();
    const int base_fds = proxy.open_descriptors();

    // kLimit sessions relaying.
    std::vector<Session> held;
    for (int i = 0; i < kLimit; ++i) {
        held.push_back(socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port())));
        ASSERT_EQ(held.back().reply, 0x00) << "session " << i << "\n" << proxy.log();
    }
    ASSERT_TRUE(test::eventually([&] { return proxy.threads() == base_threads + kLimit; }, 10s));

    // The flood: every one of them closed quickly, none answered.
    int refused = 0;
    std::chrono::milliseconds slowest = 0ms;
    for (int i = 0; i < kFlood; ++i) {
        Fd extra = test::connect_client(proxy.endpoint(), 10s);
        auto start = Clock::now();
        try {
            write_all(extra, greeting({0x00}));
        } catch (const std::system_error&) {
            // already closed by the server: fine
        }
        Ending ending = read_until_close(extra, 10s);
        slowest = std::max(slowest, since(start));
        if (ending.closed && ending.bytes.empty()) ++refused;
        // The held sessions are unaffected, checked all along the flood.
        if (i % 50 == 0) {
            auto& session = held[static_cast<std::size_t>(i / 50 % kLimit)];
            EXPECT_EQ(round_trip(session.socket, "held " + std::to_string(i)),
                      "held " + std::to_string(i));
        }
    }
    EXPECT_EQ(refused, kFlood);
    EXPECT_LT(slowest, 5s) << "a refused client waited long for its close";
    EXPECT_TRUE(proxy.wait_for_log("refused", 10s, kFlood));
    for (std::size_t i = 0; i < held.size(); ++i) {
        EXPECT_EQ(round_trip(held[i].socket, "after the flood"), "after the flood") << i;
    }
    EXPECT_TRUE(proxy.running());

    // They leave; the server is back to where it started and serves again.
    held.clear();
    int end_fds = -1, end_threads = -1;
    EXPECT_TRUE(settles_to(proxy, base_fds, base_threads, end_fds, end_threads, 10s));
    for (int i = 0; i < kLimit; ++i) {
        held.push_back(socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port())));
        EXPECT_EQ(held.back().reply, 0x00) << "after recovery, session " << i;
    }
    std::printf(
        "[ figures ] flood: %d sessions held at --max-connections %d, %d of %d extra "
        "clients refused (slowest close %lld ms), %d sessions served after\n",
        kLimit, kLimit, refused, kFlood, static_cast<long long>(slowest.count()), kLimit);
}

}  // namespace
}  // namespace socks::faults
