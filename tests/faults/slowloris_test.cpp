// Slowloris: 200 clients send one byte each and stall. Each is closed at the
// handshake timeout (never sooner, never much later), and a control client is
// served while they hold their connections.
#include <gtest/gtest.h>

#include <vector>

#include "helpers.hpp"

namespace socks::faults {
namespace {

TEST(FaultsSlowloris, StalledClientsAreClosedAtTheHandshakeTimeout) {
    constexpr int kClients = 200;
    constexpr auto kTimeout = 2s;
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--handshake-timeout", "2", "--max-connections", "1000"});
    const int base_threads = proxy.threads();
    const int base_fds = proxy.open_descriptors();

    std::vector<Fd> stalled;
    std::vector<Clock::time_point> connected;
    for (int i = 0; i < kClients; ++i) {
        stalled.push_back(test::connect_client(proxy.endpoint(), 15s));
        write_all(stalled.back(), Bytes{0x05});  // VER, then nothing
        connected.push_back(Clock::now());
    }
    // Served meanwhile, while every stalled client still holds its thread.
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
    EXPECT_TRUE(test::eventually([&] { return proxy.threads() >= base_threads + kClients; }, 10s))
        << "threads " << proxy.threads() << ", expected at least " << base_threads + kClients;
    const int held_threads = proxy.threads();

    int closed_in_window = 0;
    std::chrono::milliseconds earliest = 1h, latest = 0ms;
    for (int i = 0; i < kClients; ++i) {
        Ending ending = read_until_close(stalled[static_cast<std::size_t>(i)], 20s);
        auto held = since(connected[static_cast<std::size_t>(i)]);
        EXPECT_TRUE(ending.closed)
            << "client " << i << " still open after " << held.count() << " ms";
        EXPECT_TRUE(ending.bytes.empty()) << "client " << i << " got an answer to half a greeting";
        earliest = std::min(earliest, held);
        latest = std::max(latest, held);
        // Never before the timeout; the upper bound is generous for a busy machine.
        if (held >= kTimeout - 100ms && held <= kTimeout + 10s) ++closed_in_window;
    }
    EXPECT_EQ(closed_in_window, kClients)
        << "closed between " << earliest.count() << " and " << latest.count() << " ms";
    EXPECT_TRUE(proxy.wait_for_log("handshake timeout", 10s, kClients));
    stalled.clear();
    EXPECT_TRUE(test::eventually(
        [&] { return proxy.threads() == base_threads && proxy.open_descriptors() == base_fds; },
        10s))
        << "threads " << proxy.threads() << " (base " << base_threads << "), descriptors "
        << proxy.open_descriptors() << " (base " << base_fds << ")";
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
    std::printf(
        "[ figures ] slowloris: %d stalled clients held (%d threads), closed after "
        "%lld-%lld ms with --handshake-timeout 2\n",
        kClients, held_threads, static_cast<long long>(earliest.count()),
        static_cast<long long>(latest.count()));
}

}  // namespace
}  // namespace socks::faults
