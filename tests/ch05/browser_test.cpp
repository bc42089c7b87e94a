// A real browser through chapter 05. Runs in a network namespace with only
// loopback (tests/support/isolated-net), so Chromium's own background requests
// fail inside the machine.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;

TEST(Browser, HeadlessChromiumLoadsAPageAndItsScriptThroughTheProxy) {
    ASSERT_TRUE(test::have_program("chromium")) << "Chromium is required: apt-get install chromium";
    test::HttpTarget web({
        {"/",
         {"text/html",
          "<html><body><p id=\"status\">script not loaded</p>"
          "<script src=\"/app.js\"></script></body></html>"}},
        {"/app.js",
         {"text/javascript",
          "document.getElementById('status').textContent = 'loaded through socks';"}},
    });
    test::ServerProcess proxy("05-relay/socks5-relay");
    char profile[] = "/tmp/socks5-chromium-XXXXXX";
    ASSERT_NE(::mkdtemp(profile), nullptr);
    auto result = test::run_command(
        {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-dev-shm-usage", std::string("--user-data-dir=") + profile,
         "--proxy-server=socks5://" + proxy.proxy(),
         // Chromium never proxies loopback unless told to: "<-loopback>" removes that rule.
         "--proxy-bypass-list=<-loopback>", "--dump-dom",
         "http://localhost:" + std::to_string(web.port()) + "/"},
        {}, 90s);
    test::run_command({"rm", "-rf", profile});
    EXPECT_EQ(result.exit_code, 0) << result.err.substr(0, 2000);
    EXPECT_NE(result.out.find("loaded through socks"), std::string::npos)
        << "DOM: " << result.out << "\nproxy log:\n"
        << proxy.log();
    EXPECT_GE(web.requests(), 2);  // the page and its script
    EXPECT_TRUE(proxy.wait_for_log("CONNECT localhost:" + std::to_string(web.port()) + " closed"))
        << proxy.log();
}

}  // namespace
}  // namespace socks
