// Limits and endings: --max-connections, the hard handshake deadline,
// --idle-timeout, and a graceful SIGTERM with --shutdown-grace. Timing is
// only ever checked against generous bounds; every wait has a deadline.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <future>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::ch06 {
namespace {

using test::hex;
using test::to_hex;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST(MaxConnections, TheClientPastTheLimitIsClosedAndServiceResumes) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--max-connections", "2", "--handshake-timeout", "60"});
    const int base_threads = proxy.threads();
    ASSERT_GT(base_threads, 0);

    // Two sessions held open: one relaying, one that has not said anything yet.
    auto relaying = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(relaying.reply, 0x00) << proxy.log();
    Fd silent = test::connect_client(proxy.endpoint());

    // The third is closed by the server at once: EOF or reset, never a hang.
    Fd third = test::connect_client(proxy.endpoint(), 10s);
    try {
        write_all(third, hex("05 01 00"));
    } catch (const std::system_error&) {
        // already closed: fine
    }
    auto start = Clock::now();
    auto refused = read_until_close(third);
    EXPECT_TRUE(refused.closed) << "the client past the limit was left hanging: " << refused.error;
    EXPECT_EQ(to_hex(refused.bytes), "") << "the client past the limit was served";
    EXPECT_LT(since(start), 5s);
    EXPECT_TRUE(proxy.wait_for_log("refused", 5s)) << proxy.log();

    // The held sessions are unaffected.
    EXPECT_EQ(echo_round_trip(relaying.socket, "still relaying"), "still relaying");
    write_all(silent, hex("05 01 00"));
    EXPECT_EQ(to_hex(read_up_to(silent, 2)), "05 00");
    write_all(silent, socks5_request_ip("127.0.0.1", echo.port()));
    Bytes reply = read_up_to(silent, 10);
    ASSERT_EQ(reply.size(), 10u);
    EXPECT_EQ(reply[1], 0x00);
    EXPECT_EQ(echo_round_trip(silent, "late but served"), "late but served");

    // When they leave, new clients are served again.
    relaying.socket = Fd();
    silent = Fd();
    EXPECT_TRUE(proxy.wait_for_log(" access client=", 10s, 2));
    ASSERT_TRUE(test::eventually([&] { return proxy.threads() == base_threads; }, 10s))
        << "threads: " << proxy.threads() << ", at start " << base_threads;
    for (int i = 0; i < 2; ++i) {
        auto again = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
        EXPECT_EQ(again.reply, 0x00) << proxy.log();
        EXPECT_EQ(echo_round_trip(again.socket, "again"), "again");
    }
}

// Sends `bytes` one at a time, 200 ms apart, until the server closes the
// connection (or everything was sent). Returns what the server sent meanwhile;
// `sent` and `closed` tell how it went.
Bytes trickle(const Fd& socket, const Bytes& bytes, std::size_t& sent, bool& closed) {
    Bytes received;
    sent = 0;
    closed = false;
    auto take = [&] {
        std::uint8_t buffer[64];
        try {
            std::size_t n = read_some(socket, buffer);
            if (n == 0) closed = true;
            received.insert(received.end(), buffer, buffer + n);
        } catch (const std::system_error&) {
            closed = true;
        }
    };
    for (std::uint8_t b : bytes) {
        try {
            write_all(socket, ByteView(&b, 1));
        } catch (const std::system_error&) {
            closed = true;
            break;
        }
        ++sent;
        pollfd p{socket.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) > 0) take();  // the 200 ms are the client's pace
        if (closed) break;
    }
    while (!closed)
        take();  // the receive timeout bounds this
    return received;
}

TEST(HandshakeTimeout, StallingAndTricklingClientsAreCutAtTheDeadline) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--handshake-timeout", "1"});
    // A session that completed its handshake is no longer under the deadline.
    auto control = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(control.reply, 0x00);

    auto stall = [&](Bytes first) {
        return std::async(std::launch::async, [&proxy, first] {
            auto start = Clock::now();
            Fd client = test::connect_client(proxy.endpoint(), 10s);
            write_all(client, first);
            auto answer = read_until_close(client);
            return std::make_pair(answer, since(start));
        });
    };
    auto one_byte = stall(hex("05"));
    auto socks4_part = stall(hex("04 01 00 50"));

    // The trickler's greeting is complete and answered; its request never is.
    auto start = Clock::now();
    Fd trickler = test::connect_client(proxy.endpoint(), 10s);
    write_all(trickler, hex("05 01 00"));
    EXPECT_EQ(to_hex(read_up_to(trickler, 2)), "05 00") << "the greeting must be answered";
    std::size_t sent = 0;
    bool closed = false;
    Bytes after = trickle(trickler, socks5_request_ip("127.0.0.1", echo.port()), sent, closed);
    auto trickled_for = since(start);
    EXPECT_TRUE(closed);
    EXPECT_EQ(to_hex(after), "") << "no reply to a request that never arrived in time";
    EXPECT_LT(sent, 10u) << "the whole request went through";
    EXPECT_GE(trickled_for, 900ms) << "cut before the deadline";
    EXPECT_LT(trickled_for, 5s) << "not cut at the deadline";

    for (auto* stalled : {&one_byte, &socks4_part}) {
        ASSERT_EQ(stalled->wait_for(15s), std::future_status::ready);
        auto [answer, took] = stalled->get();
        EXPECT_TRUE(answer.closed) << answer.error;
        EXPECT_EQ(to_hex(answer.bytes), "") << "a half-sent message got an answer";
        EXPECT_GE(took, 900ms);
        EXPECT_LT(took, 5s);
    }
    EXPECT_TRUE(proxy.wait_for_log("handshake timeout", 5s, 3)) << proxy.log();
    int timeouts = 0;
    for (const Access& line : access_lines(proxy.log()))
        timeouts += line["note"] == "handshake timeout";
    EXPECT_EQ(timeouts, 3) << proxy.log();

    // The control session, now older than the deadline, still relays.
    EXPECT_EQ(echo_round_trip(control.socket, "unaffected"), "unaffected");
    auto fresh = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    EXPECT_EQ(fresh.reply, 0x00);
}

TEST(IdleTimeout, EndsASilentSessionButNotABusyOne) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--idle-timeout", "1"});
    auto silent = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(silent.reply, 0x00);
    EXPECT_EQ(echo_round_trip(silent.socket, "once"), "once");
    auto silent_since = Clock::now();

    // A session that talks every 100 ms for 2.5 s is never idle for 1 s.
    auto busy = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(busy.reply, 0x00);
    for (int i = 0; i < 25; ++i) {
        std::string text = "tick " + std::to_string(i);
        ASSERT_EQ(echo_round_trip(busy.socket, text), text) << "cut while busy";
        pollfd p{busy.socket.get(), POLLIN, 0};
        ::poll(&p, 1, 100);  // the client's pace
    }

    auto ended = read_until_close(silent.socket);
    EXPECT_TRUE(ended.closed) << ended.error;
    EXPECT_GE(since(silent_since), 900ms);
    auto lines = wait_for_access(proxy, 1);
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines[0]["note"].find("idle timeout"), std::string::npos) << lines[0].line;
    EXPECT_TRUE(has_fields(lines[0], {{"up", "4"}, {"down", "4"}}));
}

TEST(Shutdown, SigtermLetsALiveTransferFinishAndRefusesNewClients) {
    const std::string first(64 * 1024, 'a'), second(64 * 1024, 'b');
    std::promise<void> go;
    std::shared_future<void> released = go.get_future().share();
    test::BackgroundServer target([&](const Fd& socket, const SocketAddress&) {
        write_all(socket, first);
        if (released.wait_for(20s) != std::future_status::ready) return;
        write_all(socket, second);
    });
    ServerProcess proxy(kServer, {"--shutdown-grace", "30"});
    auto session = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", target.port()));
    ASSERT_EQ(session.reply, 0x00) << proxy.log();
    set_receive_timeout(session.socket, 20s);
    Bytes head(first.size());
    ASSERT_TRUE(read_exact(session.socket, head));

    const int descriptors = proxy.open_descriptors();
    ASSERT_EQ(::kill(proxy.pid(), SIGTERM), 0);
    // The listening socket closes: no new clients.
    EXPECT_TRUE(test::eventually([&] { return proxy.open_descriptors() == descriptors - 1; }, 10s))
        << "descriptors: " << proxy.open_descriptors() << ", before SIGTERM " << descriptors;
    EXPECT_THROW(test::connect_client(proxy.endpoint()), std::system_error)
        << "a new client was accepted after SIGTERM";

    // The live session finishes within the grace time.
    go.set_value();
    auto rest = read_until_close(session.socket);
    EXPECT_TRUE(rest.closed) << rest.error;
    EXPECT_EQ(rest.bytes.size(), second.size()) << "the transfer was cut";
    EXPECT_TRUE(std::all_of(rest.bytes.begin(), rest.bytes.end(), [](auto b) { return b == 'b'; }));
    session.socket = Fd();  // the client's side ends too
    // And the program ends as soon as it has: well before the 30 s grace.
    auto start = Clock::now();
    EXPECT_EQ(proxy.stop(SIGTERM, 10s), 0) << proxy.log();
    EXPECT_LT(since(start), 10s);
    EXPECT_TRUE(has_fields(access(proxy, 1), {{"down", std::to_string(2 * first.size())}}));
}

TEST(Shutdown, SessionsThatNeverEndAreCutAfterTheGraceTime) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--shutdown-grace", "1", "--handshake-timeout", "60"});
    auto idle = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(idle.reply, 0x00);
    Fd mid_handshake = test::connect_client(proxy.endpoint(), 15s);
    write_all(mid_handshake, hex("05"));
    set_receive_timeout(idle.socket, 15s);

    auto start = Clock::now();
    EXPECT_EQ(proxy.stop(SIGTERM, 15s), 0) << proxy.log();
    auto took = since(start);
    EXPECT_GE(took, 900ms) << "the grace time was not given";
    EXPECT_LT(took, 10s);
    EXPECT_TRUE(read_until_close(idle.socket).closed);
    EXPECT_TRUE(read_until_close(mid_handshake).closed);
}

// A target that keeps its connection open and silent, even after the proxy's
// FIN: only the server's own shutdown can end such a session.
void target_that_never_closes_does_not_hold_the_server(const std::string& relay_kind) {
    std::promise<void> done;
    std::shared_future<void> finished = done.get_future().share();
    test::BackgroundServer target([&](const Fd&, const SocketAddress&) { finished.wait_for(30s); });
    ServerProcess proxy(kServer, {"--shutdown-grace", "1", "--relay", relay_kind});
    auto session = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", target.port()));
    ASSERT_EQ(session.reply, 0x00);
    set_receive_timeout(session.socket, 15s);

    auto start = Clock::now();
    int status = proxy.stop(SIGTERM, 10s);
    done.set_value();
    EXPECT_EQ(status, 0) << "still running 10 s after SIGTERM with a 1 s grace time (--relay "
                         << relay_kind << ")\n"
                         << proxy.log();
    EXPECT_GE(since(start), 900ms);
    EXPECT_TRUE(read_until_close(session.socket).closed);
}

TEST(Shutdown, ATargetThatNeverClosesDoesNotHoldTheServer) {
    // Both relays: chapter 05's (copy) and chapter 06's default (splice).
    for (const char* kind : {"splice", "copy"})
        target_that_never_closes_does_not_hold_the_server(kind);
}

}  // namespace
}  // namespace socks::ch06
