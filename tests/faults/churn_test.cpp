// Churn: 20,000 short sessions (handshake, CONNECT, one round trip, close)
// from four client threads. Memory and descriptors must not grow with the
// number of sessions served.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "helpers.hpp"

namespace socks::faults {
namespace {

constexpr int kSessions = 20000;
constexpr int kWarmUp = 2000;
constexpr int kThreads = 4;

TEST(FaultsChurn, TwentyThousandShortSessionsKeepMemoryAndDescriptorsFlat) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--log-level", "warn"});
    const int base_fds = proxy.open_descriptors();
    const int base_threads = proxy.threads();

    std::atomic<int> done{0}, failed{0};
    auto run = [&](int count) {
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, count] {
                for (int i = 0; i < count / kThreads; ++i) {
                    try {
                        Session s =
                            socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()));
                        if (s.reply == 0x00 && round_trip(s.socket, "x") == "x") {
                            ++done;
                            continue;
                        }
                    } catch (const std::exception&) {
                    }
                    ++failed;
                }
            });
        }
        for (auto& thread : threads)
            thread.join();
    };
    int end_fds = -1, end_threads = -1;  // as seen when they settled
    auto settled = [&] { return settles_to(proxy, base_fds, base_threads, end_fds, end_threads); };

    auto start = Clock::now();
    run(kWarmUp);
    ASSERT_TRUE(settled()) << "after warm-up";
    const long rss_warm = rss_kib(proxy.pid());
    run(kSessions - kWarmUp);
    EXPECT_TRUE(settled()) << "after churn";
    const long rss_end = rss_kib(proxy.pid());
    auto elapsed = since(start);

    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(done.load(), kSessions);
    // Under the sanitizers RSS grows by design (see kSanitized), so only the
    // plain build checks it.
    if (!kSanitized) {
        EXPECT_LT(rss_end - rss_warm, 8 * 1024)
            << "RSS grew from " << rss_warm << " KiB to " << rss_end << " KiB";
    }
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
    std::printf(
        "[ figures ] churn: %d sessions in %lld ms (%d failed); RSS %ld KiB after %d, "
        "%ld KiB after %d; descriptors %d -> %d; threads %d -> %d\n",
        done.load(), static_cast<long long>(elapsed.count()), failed.load(), rss_warm, kWarmUp,
        rss_end, kSessions, base_fds, end_fds, base_threads, end_threads);
}

}  // namespace
}  // namespace socks::faults
