// Resets mid-transfer, 1,000 from each side: the client resets while data is
// flowing, then the target does. Afterwards the server holds exactly the
// descriptors and threads it had before its first session.
#include <gtest/gtest.h>

#include "helpers.hpp"

namespace socks::faults {
namespace {

constexpr int kResets = 1000;

// A target that reads what comes first, answers with 64 KiB, and resets.
void answer_then_reset(const Fd& client, const SocketAddress&) {
    set_receive_timeout(client, 5s);
    std::uint8_t buffer[4096];
    try {
        if (read_some(client, buffer) == 0) return;
        Bytes answer(64 * 1024, 0x5A);
        write_all(client, answer);
    } catch (const std::system_error&) {
    }
    reset_on_close(client);  // the server closes it on return: RST, not FIN
}

TEST(FaultsResets, ClientAndTargetResetMidTransferLeakNothing) {
    auto echo = test::echo_target();
    test::BackgroundServer resetting(answer_then_reset);
    ServerProcess proxy(kServer, {"--log-level", "warn"});
    // The baseline comes before any session: a count taken right after one
    // can still include its sockets.
    const int base_fds = proxy.open_descriptors();
    const int base_threads = proxy.threads();
    const Bytes chunk(16 * 1024, 0xA5);

    int client_resets = 0;
    for (int i = 0; i < kResets; ++i) {
        Session session = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", echo.port()));
        ASSERT_EQ(session.reply, 0x00) << "client reset " << i << "\n" << proxy.log();
        write_all(session.socket, chunk);
        // Some of the echo is back: data is in flight both ways. Now reset.
        ASSERT_FALSE(read_up_to(session.socket, 1024).empty());
        reset_on_close(session.socket);
        session.socket = Fd();
        ++client_resets;
        if (i % 250 == 0) {
            EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
        }
    }

    int target_resets = 0;
    for (int i = 0; i < kResets; ++i) {
        Session session = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", resetting.port()));
        ASSERT_EQ(session.reply, 0x00) << "target reset " << i << "\n" << proxy.log();
        write_all(session.socket, Bytes(100, 0x11));
        // The target answers, then resets; the server passes the reset on.
        Ending ending = read_until_close(session.socket, 10s);
        EXPECT_TRUE(ending.closed) << "target reset " << i << ": the client was never told";
        EXPECT_LE(ending.bytes.size(), 64u * 1024u);
        target_resets += ending.closed ? 1 : 0;
        if (i % 250 == 0) {
            EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
        }
    }

    int end_fds = -1, end_threads = -1;  // as seen when they settled
    EXPECT_TRUE(settles_to(proxy, base_fds, base_threads, end_fds, end_threads));
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port()));
    EXPECT_TRUE(proxy.running());
    std::printf(
        "[ figures ] resets: %d client resets, %d target resets; descriptors %d -> %d, "
        "threads %d -> %d\n",
        client_resets, target_resets, base_fds, end_fds, base_threads, end_threads);
}

}  // namespace
}  // namespace socks::faults
