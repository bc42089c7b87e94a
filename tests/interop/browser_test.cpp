// Row "Chromium (headless)": a page and its sub-resources through
// socks5-server. Runs in a network namespace with only loopback
// (tests/support/isolated-net): Chromium's own background requests go
// through the proxy too, and must fail inside the machine.
#include <gtest/gtest.h>

#include "client.hpp"
#include "interop.hpp"

namespace socks::interop {
namespace {

class Chromium : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("chromium", "chromium"));
        record_version("chromium", {"chromium", "--version"});
    }
    test::HttpTarget web{{
        {"/",
         {"text/html",
          "<html><head><link rel=\"stylesheet\" href=\"/style.css\"></head><body>"
          "<p id=\"status\">script not loaded</p><p id=\"image\">image not loaded</p>"
          "<img src=\"/pixel.svg\" onload=\"document.getElementById('image').textContent="
          "'image loaded'\"><script src=\"/app.js\"></script></body></html>"}},
        {"/app.js",
         {"text/javascript",
          "document.getElementById('status').textContent = 'script loaded through socks';"}},
        {"/style.css", {"text/css", "p { color: green; }"}},
        {"/pixel.svg",
         {"image/svg+xml",
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"></svg>"}},
    }};
    std::string port = std::to_string(web.port());

    // Headless Chromium prints the page's DOM after its scripts ran.
    CommandResult dump_dom(const std::string& proxy_server, const std::string& page) {
        TempDir profile{"socks5-chromium"};
        return run(
            {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile.path(),
             "--proxy-server=" + proxy_server,
             // Chromium never proxies loopback unless told to: "<-loopback>" removes that rule.
             "--proxy-bypass-list=<-loopback>", "--dump-dom", page},
            {}, {}, 90s);
    }
};

TEST_F(Chromium, Socks5LoadsAPageAndItsSubresources) {
    ServerProcess proxy(kServer);
    auto result = dump_dom("socks5://" + proxy.proxy(), url("localhost", web.port()));
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_NE(result.out.find("script loaded through socks"), std::string::npos)
        << show(result) << "\nproxy log:\n"
        << proxy.log();
    EXPECT_NE(result.out.find("image loaded"), std::string::npos) << show(result);
    EXPECT_GE(web.requests(), 4);  // the page, its style sheet, image and script
    // Chromium's socks5:// always sends the name (ATYP 03): the proxy resolves it.
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "localhost:" + port},
                               {"reply", "00"}}));
}

TEST_F(Chromium, Socks4ResolvesLocally) {
    ServerProcess proxy(kServer);
    auto result = dump_dom("socks4://" + proxy.proxy(), url("localhost", web.port()));
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_NE(result.out.find("script loaded through socks"), std::string::npos)
        << show(result) << "\nproxy log:\n"
        << proxy.log();
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Chromium, LoopbackBypassesTheProxyWithoutTheOverride) {
    ServerProcess proxy(kServer);
    TempDir profile{"socks5-chromium"};
    auto result = run(
        {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile.path(),
         "--proxy-server=socks5://" + proxy.proxy(), "--dump-dom", url("localhost", web.port())},
        {}, {}, 90s);
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_NE(result.out.find("script loaded through socks"), std::string::npos) << show(result);
    // The page loaded, but directly: no session for it in the proxy's log. A
    // session of our own, logged after Chromium is gone, marks where its would be.
    { auto own = test::socks5_connect(proxy.endpoint(), "127.0.0.1", web.port()); }
    EXPECT_TRUE(logged(proxy, {{"target", "127.0.0.1:" + port}}));
    for (const Access& line : access_lines(proxy.log()))
        EXPECT_NE(line["target"], "localhost:" + port) << line.line;
}

}  // namespace
}  // namespace socks::interop
