// Descriptor exhaustion: the server's RLIMIT_NOFILE is lowered to 32 while it
// runs (prlimit(2) on its pid), then more clients connect than it has
// descriptors for. accept() fails with EMFILE and the pending clients stay in
// the backlog: the server must back off instead of spinning (microsocks PR
// #48), must not crash, and must serve again once descriptors are free.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <thread>
#include <vector>

#include "helpers.hpp"

namespace socks::faults {
namespace {

TEST(FaultsExhaustion, OutOfDescriptorsTheServerBacksOffAndRecovers) {
    constexpr rlim_t kLimit = 32;
    constexpr int kClients = 80;
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--handshake-timeout", "60", "--max-connections", "1000"});
    const int base_fds = proxy.open_descriptors();
    const int base_threads = proxy.threads();
    ASSERT_LT(base_fds, 16);
    rlimit low{kLimit, kLimit};
    ASSERT_EQ(::prlimit(proxy.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

    // Silent clients: each accepted one holds a descriptor until it speaks.
    std::vector<Fd> clients;
    for (int i = 0; i < kClients; ++i)
        clients.push_back(test::connect_client(proxy.endpoint(), 10s));
    ASSERT_TRUE(proxy.wait_for_log("Too many open files", 10s)) << proxy.log();
    const int exhausted_fds = proxy.open_descriptors();

    // While exhausted, the pending clients stay in the backlog and accept()
    // keeps failing. The loop must wait between attempts: over a 2 s window
    // (a measurement, not a synchronisation) a spinning loop burns a whole
    // core; the back-off uses next to nothing.
    const double cpu_before = cpu_seconds(proxy.pid());
    const auto start = Clock::now();
    std::this_thread::sleep_for(2s);
    const auto elapsed = since(start);
    const double cpu_used = cpu_seconds(proxy.pid()) - cpu_before;
    EXPECT_LT(cpu_used, 0.2 * static_cast<double>(elapsed.count()) / 1000.0 + 0.05)
        << "the server used " << cpu_used << " s of CPU in " << elapsed.count()
        << " ms while out of descriptors: its accept loop spins";
    EXPECT_TRUE(proxy.running()) << proxy.log();

    // The clients leave; their sessions end, the backlog drains, and the
    // server serves again under the same low limit.
    clients.clear();
    int end_fds = -1, end_threads = -1;  // as seen when they settled
    EXPECT_TRUE(settles_to(proxy, base_fds, base_threads, end_fds, end_threads));
    EXPECT_TRUE(proxy.wait_for_log("accepting again", 10s)) << proxy.log();
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port())) << proxy.log();
    EXPECT_TRUE(proxy.running());
    std::printf(
        "[ figures ] exhaustion: RLIMIT_NOFILE %d, %d clients, %d descriptors open, "
        "%.3f s CPU over %lld ms while exhausted, recovered to %d descriptors\n",
        static_cast<int>(kLimit), kClients, exhausted_fds, cpu_used,
        static_cast<long long>(elapsed.count()), end_fds);
}

}  // namespace
}  // namespace socks::faults
