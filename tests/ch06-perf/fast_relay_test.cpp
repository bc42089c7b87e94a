// fast_relay() against chapter 05's contract, over real loopback connections:
// half-close, resets, idle timeout, back-pressure, no leaked descriptors, and
// 256 MiB each way arriving byte for byte through the spliced path.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <csignal>
#include <cstring>
#include <future>
#include <thread>

#include "client.hpp"
#include "fast_relay.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;

// fast_relay() between test::relay_ends(), running in a thread of its own.
struct FastRelayRig : test::RelayEnds {
    std::future<RelayResult> result;

    explicit FastRelayRig(FastRelayOptions options = {}) : RelayEnds(test::relay_ends(30s)) {
        std::signal(SIGPIPE, SIG_IGN);  // as every chapter program does
        result = std::async(std::launch::async, [this, options] {
            return fast_relay(client_end, target_end, options);
        });
    }
    RelayResult finish() {
        EXPECT_EQ(result.wait_for(30s), std::future_status::ready) << "the relay did not end";
        return result.get();
    }
};

using test::read_to_end;

// A stream whose every byte depends on its offset: a lost, doubled or
// reordered chunk shows up at the first wrong offset.
std::uint8_t pattern_byte(std::uint64_t offset, std::uint8_t seed) {
    std::uint64_t x = offset * 0x9e3779b97f4a7c15ull + seed;
    x ^= x >> 29;
    return static_cast<std::uint8_t>(x ^ (x >> 17));
}

void send_pattern(const Fd& socket, std::uint64_t size, std::uint8_t seed) {
    std::vector<std::uint8_t> chunk(1 << 16);
    for (std::uint64_t sent = 0; sent < size;) {
        std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - sent));
        for (std::size_t i = 0; i < n; ++i)
            chunk[i] = pattern_byte(sent + i, seed);
        write_all(socket, ByteView(chunk.data(), n));
        sent += n;
    }
}

// Reads to EOF; returns the byte count, or -1 with a message at the first wrong byte.
std::int64_t check_pattern(const Fd& socket, std::uint8_t seed, std::string& problem) {
    std::vector<std::uint8_t> chunk(1 << 16);
    std::uint64_t got = 0;
    while (std::size_t n = read_some(socket, chunk)) {
        for (std::size_t i = 0; i < n; ++i) {
            if (chunk[i] != pattern_byte(got + i, seed)) {
                problem = "wrong byte at offset " + std::to_string(got + i);
                return -1;
            }
        }
        got += n;
    }
    return static_cast<std::int64_t>(got);
}

int open_descriptors() {
    int count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (dirent* entry = ::readdir(dir))
            count += entry->d_name[0] != '.';
        ::closedir(dir);
    }
    return count;
}

TEST(FastRelay, ClientHalfCloseStillGetsTheWholeResponse) {
    FastRelayRig rig;
    write_all(rig.client_app, std::string_view("request"));
    ::shutdown(rig.client_app.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(rig.target_app), "request");
    // Answered only after the FIN: a relay that closed on the first EOF loses it.
    write_all(rig.target_app, std::string_view("response after EOF"));
    ::shutdown(rig.target_app.get(), SHUT_WR);
    EXPECT_EQ(read_to_end(rig.client_app), "response after EOF");
    RelayResult result = rig.finish();
    EXPECT_TRUE(result.clean) << result.ended;
    EXPECT_EQ(result.client_to_target, 7u);
    EXPECT_EQ(result.target_to_client, 18u);
}

TEST(FastRelay, HalfCloseAfterBulkDataThroughThePipes) {
    // Both directions carry enough to switch to splice(2), and each FIN still
    // arrives after the last byte, with the other direction still open.
    FastRelayRig rig;
    const std::uint64_t size = 8 << 20;
    std::thread uploader([&] {
        send_pattern(rig.client_app, size, 1);
        ::shutdown(rig.client_app.get(), SHUT_WR);
    });
    std::string problem;
    EXPECT_EQ(check_pattern(rig.target_app, 1, problem), static_cast<std::int64_t>(size))
        << problem;
    uploader.join();
    send_pattern(rig.target_app, size, 2);  // the answer starts after the client's FIN
    ::shutdown(rig.target_app.get(), SHUT_WR);
    set_receive_timeout(rig.client_app, 30s);
    EXPECT_EQ(check_pattern(rig.client_app, 2, problem), static_cast<std::int64_t>(size))
        << problem;
    RelayResult result = rig.finish();
    EXPECT_TRUE(result.clean) << result.ended;
    EXPECT_EQ(result.client_to_target, size);
    EXPECT_EQ(result.target_to_client, size);
}

TEST(FastRelay, TargetClosesFirstAndTheClientSeesEofAfterAllData) {
    FastRelayRig rig;
    std::string body(3 << 20, 'b');
    std::thread writer([&] {
        write_all(rig.target_app, body);
        rig.target_app = Fd();  // the target closes first
    });
    set_receive_timeout(rig.client_app, 30s);
    EXPECT_EQ(read_to_end(rig.client_app), body);
    writer.join();
    write_all(rig.client_app, std::string_view("late"));  // the other direction is still open
    ::shutdown(rig.client_app.get(), SHUT_WR);
    RelayResult result = rig.finish();
    EXPECT_EQ(result.target_to_client, body.size());
}

void expect_reset(const Fd& socket) {
    std::uint8_t buffer[65536];
    try {
        while (read_some(socket, buffer) > 0) {
        }
        ADD_FAILURE() << "a clean EOF after a reset: a cut-off stream would look complete";
    } catch (const std::system_error& error) {
        EXPECT_EQ(error.code().value(), ECONNRESET);
    }
}

TEST(FastRelay, TargetResetEndsBothAndResetsTheClient) {
    for (std::size_t before : {std::size_t{7}, std::size_t{4} << 20}) {  // copied, spliced
        FastRelayRig rig;
        std::string data(before, 'p');
        std::thread writer([&] { write_all(rig.target_app, data); });
        set_receive_timeout(rig.client_app, 30s);
        std::string got;
        std::uint8_t buffer[65536];
        while (got.size() < data.size()) {
            std::size_t n = read_some(rig.client_app, buffer);
            ASSERT_GT(n, 0u);
            got.append(reinterpret_cast<char*>(buffer), n);
        }
        writer.join();
        linger hard{1, 0};
        ::setsockopt(rig.target_app.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        rig.target_app = Fd();  // RST
        RelayResult result = rig.finish();
        EXPECT_FALSE(result.clean);
        EXPECT_NE(result.ended.find("target"), std::string::npos) << result.ended;
        rig.client_end = Fd();  // the server closes its end, which sends the reset on
        expect_reset(rig.client_app);
    }
}

TEST(FastRelay, ClientResetEndsBothAndResetsTheTarget) {
    for (std::size_t before : {std::size_t{1}, std::size_t{4} << 20}) {
        FastRelayRig rig;
        std::string data(before, 'x');
        std::thread writer([&] {
            try {
                write_all(rig.client_app, data);
            } catch (const std::exception&) {
            }
        });
        std::string got;
        std::uint8_t buffer[65536];
        while (got.size() < data.size()) {
            std::size_t n = read_some(rig.target_app, buffer);
            ASSERT_GT(n, 0u);
            got.append(reinterpret_cast<char*>(buffer), n);
        }
        writer.join();
        linger hard{1, 0};
        ::setsockopt(rig.client_app.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        rig.client_app = Fd();
        RelayResult result = rig.finish();
        EXPECT_FALSE(result.clean);
        EXPECT_NE(result.ended.find("client"), std::string::npos) << result.ended;
        rig.target_end = Fd();
        expect_reset(rig.target_app);
    }
}

TEST(FastRelay, IdleTimeoutEndsASilentSession) {
    FastRelayRig rig(FastRelayOptions{.idle_timeout = 100ms});
    EXPECT_EQ(rig.finish().ended, "idle timeout");
}

TEST(FastRelay, IdleTimeoutStillCountsAfterTheStackWasTrimmed) {
    FastRelayRig rig(FastRelayOptions{.idle_timeout = 300ms, .trim_after = 50ms});
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(rig.finish().ended, "idle timeout");
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 5s);
}

TEST(FastRelay, KeepsRelayingAfterTheIdleStackWasReleased) {
    // The idle trim hands stack pages back to the kernel: whatever lives on
    // them must still be intact afterwards.
    FastRelayRig rig(FastRelayOptions{.trim_after = 20ms});
    for (int round = 0; round < 3; ++round) {
        std::this_thread::sleep_for(100ms);  // idle: the relay trims its stack
        std::string message = "ping " + std::to_string(round);
        write_all(rig.client_app, message);
        std::string got(message.size(), '\0');
        ASSERT_TRUE(
            read_exact(rig.target_app, {reinterpret_cast<std::uint8_t*>(got.data()), got.size()}));
        EXPECT_EQ(got, message);
        write_all(rig.target_app, std::string_view("pong"));
        std::uint8_t pong[4];
        set_receive_timeout(rig.client_app, 10s);
        ASSERT_TRUE(read_exact(rig.client_app, pong));
        EXPECT_EQ(std::memcmp(pong, "pong", 4), 0);
    }
    ::shutdown(rig.client_app.get(), SHUT_WR);
    ::shutdown(rig.target_app.get(), SHUT_WR);
    RelayResult result = rig.finish();
    EXPECT_TRUE(result.clean) << result.ended;
    EXPECT_EQ(result.client_to_target, 18u);
    EXPECT_EQ(result.target_to_client, 12u);
}

TEST(FastRelay, ASlowReaderDoesNotStallTheOtherDirection) {
    // The client uploads 16 MiB and reads nothing until it is done; the target
    // echoes. A blocking splice into the full client socket would deadlock.
    FastRelayRig rig;
    std::string upload(16 << 20, 'u');
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
    set_receive_timeout(rig.client_app, 30s);
    std::string echoed = read_to_end(rig.client_app);
    uploader.join();
    echo.join();
    EXPECT_EQ(echoed.size(), upload.size());
    EXPECT_TRUE(echoed == upload);
    EXPECT_TRUE(rig.finish().clean);
}

TEST(FastRelay, GivesBackEveryDescriptor) {
    // Each spliced direction opens a pipe pair; clean ends, resets and
    // timeouts must all close them.
    int before = open_descriptors();
    for (int i = 0; i < 5; ++i) {
        {
            FastRelayRig rig;
            std::thread up([&] {
                send_pattern(rig.client_app, 1 << 20, 3);
                ::shutdown(rig.client_app.get(), SHUT_WR);
            });
            std::string problem;
            EXPECT_EQ(check_pattern(rig.target_app, 3, problem), 1 << 20) << problem;
            up.join();
            ::shutdown(rig.target_app.get(), SHUT_WR);
            EXPECT_TRUE(rig.finish().clean);
        }
        {
            FastRelayRig rig;
            std::thread down([&] {
                try {
                    send_pattern(rig.target_app, 1 << 20, 4);
                } catch (const std::exception&) {
                    // expected: the relay reset this side
                }
            });
            std::uint8_t buffer[65536];
            std::size_t got = 0;
            set_receive_timeout(rig.client_app, 30s);
            while (got < (1u << 19))
                got += read_some(rig.client_app, buffer);
            linger hard{1, 0};
            ::setsockopt(rig.client_app.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
            rig.client_app = Fd();
            EXPECT_FALSE(rig.finish().clean);
            rig.target_end = Fd();  // the server closes its end: a reset, the writer stops
            down.join();
        }
    }
    EXPECT_EQ(open_descriptors(), before);
}

TEST(FastRelay, CopiesOnlyWhenSpliceIsOff) {
    FastRelayRig rig(FastRelayOptions{.splice = false});
    const std::uint64_t size = 4 << 20;
    std::thread up([&] {
        send_pattern(rig.client_app, size, 5);
        ::shutdown(rig.client_app.get(), SHUT_WR);
    });
    std::string problem;
    EXPECT_EQ(check_pattern(rig.target_app, 5, problem), static_cast<std::int64_t>(size))
        << problem;
    up.join();
    ::shutdown(rig.target_app.get(), SHUT_WR);
    EXPECT_TRUE(rig.finish().clean);
}

TEST(FastRelay, Moves256MiBEachWayByteForByte) {
    FastRelayRig rig;
    const std::uint64_t size = 256ull << 20;
    std::thread up([&] {
        send_pattern(rig.client_app, size, 6);
        ::shutdown(rig.client_app.get(), SHUT_WR);
    });
    std::thread down([&] {
        send_pattern(rig.target_app, size, 7);
        ::shutdown(rig.target_app.get(), SHUT_WR);
    });
    set_receive_timeout(rig.client_app, 60s);
    set_receive_timeout(rig.target_app, 60s);
    std::string up_problem, down_problem;
    std::int64_t at_target = 0;
    std::thread check_up([&] { at_target = check_pattern(rig.target_app, 6, up_problem); });
    std::int64_t at_client = check_pattern(rig.client_app, 7, down_problem);
    check_up.join();
    up.join();
    down.join();
    EXPECT_EQ(at_target, static_cast<std::int64_t>(size)) << up_problem;
    EXPECT_EQ(at_client, static_cast<std::int64_t>(size)) << down_problem;
    RelayResult result = rig.finish();
    EXPECT_TRUE(result.clean) << result.ended;
    EXPECT_EQ(result.client_to_target, size);
    EXPECT_EQ(result.target_to_client, size);
}

// The program: the access log's byte counts match what went through, and the
// server holds no descriptor once the session is over.
TEST(FastRelayProgram, ServerRelays32MiBEachWayAndReturnsItsDescriptors) {
    std::signal(SIGPIPE, SIG_IGN);
    test::ServerProcess server("06-full-server/socks5-server");
    int idle_descriptors = server.open_descriptors();
    Fd listener = listen_tcp({"127.0.0.1", 0});
    std::uint16_t port = local_address(listener).port();
    Fd client = test::connect_client(server.endpoint(), 60s);
    const std::uint8_t greeting[] = {0x05, 0x01, 0x00};
    write_all(client, ByteView(greeting));
    std::uint8_t reply[10];
    ASSERT_TRUE(read_exact(client, {reply, 2}));
    const std::uint8_t request[] = {0x05,
                                    0x01,
                                    0x00,
                                    0x01,
                                    127,
                                    0,
                                    0,
                                    1,
                                    static_cast<std::uint8_t>(port >> 8),
                                    static_cast<std::uint8_t>(port & 0xff)};
    write_all(client, ByteView(request));
    Fd target(::accept(listener.get(), nullptr, nullptr));
    ASSERT_TRUE(read_exact(client, reply));
    ASSERT_EQ(reply[1], 0x00);
    set_receive_timeout(target, 60s);
    const std::uint64_t size = 32 << 20;
    std::thread up([&] {
        send_pattern(client, size, 8);
        ::shutdown(client.get(), SHUT_WR);
    });
    std::thread down([&] {
        send_pattern(target, size, 9);
        ::shutdown(target.get(), SHUT_WR);
    });
    std::string up_problem, down_problem;
    std::int64_t at_target = 0;
    std::thread check_up([&] { at_target = check_pattern(target, 8, up_problem); });
    std::int64_t at_client = check_pattern(client, 9, down_problem);
    check_up.join();
    up.join();
    down.join();
    EXPECT_EQ(at_target, static_cast<std::int64_t>(size)) << up_problem;
    EXPECT_EQ(at_client, static_cast<std::int64_t>(size)) << down_problem;
    EXPECT_TRUE(server.wait_for_log("up=33554432 down=33554432")) << server.log();
    EXPECT_TRUE(
        test::eventually([&] { return server.open_descriptors() == idle_descriptors; }, 10s))
        << server.open_descriptors() << " descriptors open, " << idle_descriptors << " before";
}

}  // namespace
}  // namespace socks
