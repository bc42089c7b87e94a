// Row "proxychains4": unmodified programs (curl without proxy flags, Python's
// urllib) run under proxychains4 with proxy_dns, so the name goes to the
// proxy. Runs in the loopback-only namespace (interop_browser_tests): a
// preloaded library that gets a name wrong must not reach a real resolver.
#include <gtest/gtest.h>

#include "interop.hpp"

namespace socks::interop {
namespace {

class Proxychains : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("proxychains4", "proxychains4"));
        record_version("proxychains4");
    }
    // A config of our own (never /etc/proxychains4.conf), pointing at `proxy_line`.
    std::string config(const std::string& proxy_line) {
        return dir.write("proxychains.conf",
                         "strict_chain\n"
                         "proxy_dns\n"
                         "remote_dns_subnet 224\n"
                         "tcp_read_time_out 15000\n"
                         "tcp_connect_time_out 8000\n"
                         "[ProxyList]\n" +
                             proxy_line + "\n");
    }
    CommandResult under_proxychains(const std::string& config_file,
                                    const std::vector<std::string>& program) {
        std::vector<std::string> argv{"proxychains4", "-q", "-f", config_file};
        argv.insert(argv.end(), program.begin(), program.end());
        return run(argv);
    }
    std::string body = random_text(100 * 1024, 13);
    test::HttpTarget web{{{"/file.bin", {"application/octet-stream", body}}}};
    std::string port = std::to_string(web.port());
    TempDir dir{"socks5-proxychains"};
};

TEST_F(Proxychains, CurlWithoutProxyFlagsSendsTheName) {
    // web.test is known only to the server (--map): with proxy_dns, proxychains
    // hands curl a placeholder address (224.x.y.z) and sends the name to the proxy.
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    auto conf = config("socks5 127.0.0.1 " + std::to_string(proxy.port()));
    auto result = under_proxychains(
        conf, {"curl", "-q", "-sS", "--max-time", "15", url("web.test", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body) << result.out.size() << " bytes of " << body.size();
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "web.test:" + port},
                               {"reply", "00"}}));
}

TEST_F(Proxychains, PythonUrllib) {
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    auto conf = config("socks5 127.0.0.1 " + std::to_string(proxy.port()));
    auto result =
        under_proxychains(conf, {"/usr/bin/python3", "-c",
                                 "import sys, urllib.request\n"
                                 "data = urllib.request.urlopen(sys.argv[1], timeout=10).read()\n"
                                 "sys.stdout.buffer.write(data)\n",
                                 url("web.test", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body) << result.out.size() << " bytes of " << body.size();
    EXPECT_TRUE(
        logged(proxy, {{"cmd", "CONNECT"}, {"target", "web.test:" + port}, {"reply", "00"}}));
}

TEST_F(Proxychains, WithUserAndPassword) {
    ServerProcess proxy(kServer, {"--user", "alice:secret", "--map", "web.test=127.0.0.1"});
    auto conf = config("socks5 127.0.0.1 " + std::to_string(proxy.port()) + " alice secret");
    auto result = under_proxychains(
        conf, {"curl", "-q", "-sS", "--max-time", "15", url("web.test", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    EXPECT_TRUE(logged(
        proxy,
        {{"user", "alice"}, {"cmd", "CONNECT"}, {"target", "web.test:" + port}, {"reply", "00"}}));
}

TEST_F(Proxychains, Socks4SendsSocks4a) {
    ServerProcess proxy(kServer, {"--map", "web.test=127.0.0.1"});
    auto conf = config("socks4 127.0.0.1 " + std::to_string(proxy.port()));
    auto result = under_proxychains(
        conf, {"curl", "-q", "-sS", "--max-time", "15", url("web.test", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4a"},
                               {"cmd", "CONNECT"},
                               {"target", "web.test:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Proxychains, NamesFromEtcHostsAreResolvedLocallyDespiteProxyDns) {
    // proxychains-ng reads /etc/hosts itself: "localhost" reaches the proxy as 127.0.0.1.
    ServerProcess proxy(kServer);
    auto conf = config("socks5 127.0.0.1 " + std::to_string(proxy.port()));
    auto result = under_proxychains(
        conf, {"curl", "-q", "-sS", "--max-time", "15", url("localhost", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    EXPECT_TRUE(
        logged(proxy, {{"cmd", "CONNECT"}, {"target", "127.0.0.1:" + port}, {"reply", "00"}}));
}

}  // namespace
}  // namespace socks::interop
