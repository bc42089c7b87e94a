// The relay on its own, over real loopback connections, and the captures of
// earlier chapters replayed against chapter 05's session.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <future>
#include <thread>

#include "capture.hpp"
#include "client.hpp"
#include "process.hpp"
#include "relay.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;

// The relay between test::relay_ends(), running in a thread of its own.
struct RelayRig : test::RelayEnds {
    std::future<RelayResult> result;

    explicit RelayRig(RelayOptions options = {}) : RelayEnds(test::relay_ends(5s)) {
        result = std::async(std::launch::async,
                            [this, options] { return relay(client_end, target_end, options); });
    }
    RelayResult finish() {
        EXPECT_EQ(result.wait_for(10s), std::future_status::ready) << "the relay did not end";
        return result.get();
    }
};

using test::read_to_end;

TEST(Relay, ClientHalfCloseStillGetsTheWholeResponse) {
    RelayRig rig;
    // The client sends its request and shuts down its write side (nc -N, HTTP/1.0 uploads).
    write_all(rig.client_app, std::string_view("request"));
    ::shutdown(rig.client_app.get(), SHUT_WR);
    // The target sees the request, then EOF: the FIN was passed on.
    EXPECT_EQ(read_to_end(rig.target_app), "request");
    // Only now does it answer. A relay that closed on the first EOF loses this.
    write_all(rig.target_app, std::string_view("response after EOF"));
    ::shutdown(rig.target_app.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(rig.client_app), "response after EOF");
    RelayResult result = rig.finish();
    EXPECT_TRUE(result.clean) << result.ended;
    EXPECT_EQ(result.client_to_target, 7u);
    EXPECT_EQ(result.target_to_client, 18u);
}

TEST(Relay, TargetClosesFirstAndTheClientSeesEofAfterAllData) {
    RelayRig rig;
    std::string body(300000, 'b');
    write_all(rig.target_app, body);
    rig.target_app = Fd();  // the target closes first
    EXPECT_EQ(read_to_end(rig.client_app), body);
    // The client may still send: the other direction stays open until it finishes.
    write_all(rig.client_app, std::string_view("late"));
    ::shutdown(rig.client_app.get(), SHUT_WR);
    RelayResult result = rig.finish();
    EXPECT_EQ(result.target_to_client, body.size());
}

TEST(Relay, TargetResetEndsBothAndResetsTheClient) {
    RelayRig rig;
    write_all(rig.target_app, std::string_view("partial"));
    linger hard{1, 0};
    ::setsockopt(rig.target_app.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    rig.target_app = Fd();  // RST
    RelayResult result = rig.finish();
    EXPECT_FALSE(result.clean);
    EXPECT_NE(result.ended.find("target"), std::string::npos) << result.ended;
    rig.client_end = Fd();  // the server closes its end, which sends the reset on
    std::uint8_t buffer[64];
    std::string got;
    try {
        while (std::size_t n = read_some(rig.client_app, buffer))
            got.append(reinterpret_cast<char*>(buffer), n);
        ADD_FAILURE()
            << "the client saw a clean EOF after a reset: a cut-off stream looks complete";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), ECONNRESET);
    }
}

TEST(Relay, ClientResetEndsBoth) {
    RelayRig rig;
    write_all(rig.client_app, std::string_view("x"));
    linger hard{1, 0};
    ::setsockopt(rig.client_app.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    rig.client_app = Fd();
    RelayResult result = rig.finish();
    EXPECT_FALSE(result.clean);
    EXPECT_NE(result.ended.find("client"), std::string::npos) << result.ended;
}

TEST(Relay, IdleTimeoutEndsASilentSession) {
    RelayRig rig(RelayOptions{.buffer_size = 4096, .idle_timeout = 100ms});
    RelayResult result = rig.finish();
    EXPECT_EQ(result.ended, "idle timeout");
}

TEST(Relay, ASlowReaderDoesNotStallTheOtherDirection) {
    // The client uploads 4 MiB and reads nothing yet; the target echoes.
    // With one blocking write per direction this would deadlock: the relay
    // would sit in send() to a full client while the target waits for it.
    RelayRig rig;
    std::string upload(4 << 20, 'u');
    std::thread uploader([&] {
        write_all(rig.client_app, upload);
        ::shutdown(rig.client_app.get(), SHUT_WR);
    });
    std::thread echo([&] {
        std::uint8_t buffer[65536];
        while (std::size_t n = read_some(rig.target_app, buffer))
            write_all(rig.target_app, ByteView(buffer, n));
        ::shutdown(rig.target_app.get(), SHUT_WR);
    });
    set_receive_timeout(rig.client_app, 10s);
    std::string echoed = read_to_end(rig.client_app);
    uploader.join();
    echo.join();
    EXPECT_EQ(echoed.size(), upload.size());
    EXPECT_TRUE(rig.finish().clean);
}

// Chapter 05 still speaks everything chapters 02-04 learned: every capture
// replays against its session, with a live target for successful requests.
TEST(Captures, EveryEarlierCaptureReplaysAgainstChapter05) {
    auto v4 = test::echo_target("127.0.0.1");
    auto v6 = test::echo_target("::1");
    auto names = test::list_captures("04-");
    ASSERT_GE(names.size(), 10u);
    for (const std::string& name : names) {
        test::Capture capture = test::load_capture(name);
        Users users;
        std::vector<std::string> flags = test::server_flags(capture);
        for (std::size_t i = 0; i + 1 < flags.size(); ++i) {
            if (flags[i] == "--user") users.add_from_option(flags[i + 1]);
        }
        std::uint16_t port = test::target_port_for(name, v4.port(), v6.port());
        auto session = [&users](const Fd& client, const SocketAddress& peer) {
            proxy_session(client, peer, users);
        };
        for (auto split : {test::Split::AsRecorded, test::Split::ByteByByte}) {
            EXPECT_TRUE(test::replay(capture, session, split, port)) << name;
        }
    }
}

}  // namespace
}  // namespace socks
