// Rows "ncat" (Nmap's) and "OpenBSD nc": SOCKS5 and SOCKS4, ncat's
// --proxy-auth, and the half-closed exchange both tools make when their input
// ends (they shut down their write side and wait for the answer).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "interop.hpp"

namespace socks::interop {
namespace {

class Ncat : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("ncat", "ncat"));
        record_version("ncat", {"ncat", "--version"});
    }
    CommandResult ncat(const ServerProcess& proxy, const std::vector<std::string>& args,
                       const std::string& input) {
        std::vector<std::string> argv{"ncat", "--wait", "10", "--proxy", proxy.proxy()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, {}, input, 20s);
    }
    test::BackgroundServer target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
};

TEST_F(Ncat, Socks5SendsTheNameAndHalfCloses) {
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto result = ncat(proxy, {"--proxy-type", "socks5", "echo.test", port}, "hello from ncat");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    // The target answers only after the client's EOF: the answer proves the half-close.
    EXPECT_EQ(result.out, "got 15 bytes: hello from ncat\n") << show(result);
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "echo.test:" + port},
                               {"reply", "00"},
                               {"up", "15"},
                               {"down", "30"}}));
}

TEST_F(Ncat, Socks5WithProxyAuth) {
    ServerProcess proxy(kServer, {"--user", "u:p"});
    auto result = ncat(proxy, {"--proxy-type", "socks5", "--proxy-auth", "u:p", "127.0.0.1", port},
                       "authenticated");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 13 bytes: authenticated\n");
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"user", "u"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "00"}}));
    auto wrong =
        ncat(proxy, {"--proxy-type", "socks5", "--proxy-auth", "u:x", "127.0.0.1", port}, "x");
    EXPECT_NE(wrong.exit_code, 0) << show(wrong);
}

TEST_F(Ncat, Socks4AndSocks4a) {
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto plain = ncat(proxy, {"--proxy-type", "socks4", "127.0.0.1", port}, "four");
    EXPECT_EQ(plain.out, "got 4 bytes: four\n") << show(plain);
    // --proxy-auth is the SOCKS4 USERID; --proxy-dns remote makes it SOCKS4a.
    auto named = ncat(proxy,
                      {"--proxy-type", "socks4", "--proxy-auth", "carol", "--proxy-dns", "remote",
                       "echo.test", port},
                      "four-a");
    EXPECT_EQ(named.out, "got 6 bytes: four-a\n") << show(named);
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4a"},
                               {"user", "userid:carol"},
                               {"target", "echo.test:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Ncat, SendOnlyDeliversEverythingBeforeClosing) {
    // --send-only: ncat sends its input and quits at its end, ignoring the answer.
    std::string received;
    std::mutex mutex;
    std::condition_variable done;
    test::BackgroundServer sink([&](const Fd& socket, const SocketAddress&) {
        set_receive_timeout(socket, 10s);
        std::string all;
        std::uint8_t buffer[65536];
        while (std::size_t n = read_some(socket, buffer))
            all.append(reinterpret_cast<const char*>(buffer), n);
        std::lock_guard lock(mutex);
        received = all;
        done.notify_all();
    });
    ServerProcess proxy(kServer);
    std::string upload = random_text(512 * 1024, 11);
    auto result = ncat(
        proxy, {"--send-only", "--proxy-type", "socks5", "127.0.0.1", std::to_string(sink.port())},
        upload);
    EXPECT_EQ(result.exit_code, 0) << show(result);
    std::unique_lock lock(mutex);
    ASSERT_TRUE(done.wait_for(lock, 10s, [&] { return !received.empty(); }));
    EXPECT_TRUE(received == upload) << received.size() << " of " << upload.size() << " bytes";
    lock.unlock();
    EXPECT_TRUE(logged(proxy, {{"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + std::to_string(sink.port())},
                               {"up", std::to_string(upload.size())}}));
}

class OpenBsdNc : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("nc.openbsd", "netcat-openbsd"));
        record_version("netcat-openbsd");
    }
    // -N: shut down the write side at the end of the input; -w: a deadline for nc itself.
    CommandResult nc(const std::vector<std::string>& args, const std::string& input) {
        std::vector<std::string> argv{"nc.openbsd", "-N", "-w", "10"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, {}, input, 20s);
    }
    test::BackgroundServer target = answer_after_eof_target();
    std::string port = std::to_string(target.port());
};

TEST_F(OpenBsdNc, Socks5) {
    ServerProcess proxy(kServer, {"--map", "echo.test=127.0.0.1"});
    auto result = nc({"-X", "5", "-x", proxy.proxy(), "echo.test", port}, "hello from nc");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 13 bytes: hello from nc\n");
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "echo.test:" + port},
                               {"reply", "00"},
                               {"up", "13"}}));
}

TEST_F(OpenBsdNc, Socks4) {
    ServerProcess proxy(kServer);
    // nc -X 4 sends an IPv4 address: it has no SOCKS4a.
    auto result = nc({"-X", "4", "-x", proxy.proxy(), "127.0.0.1", port}, "hello v4");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_EQ(result.out, "got 8 bytes: hello v4\n");
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
}

}  // namespace
}  // namespace socks::interop
