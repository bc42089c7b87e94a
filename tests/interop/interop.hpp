// The compatibility matrix (docs/compatibility.md): every common SOCKS client,
// run as users run it, against build/06-full-server/socks5-server on
// loopback. These helpers start clients with a clean environment and a
// deadline, record which version of each client a test ran against, read the
// server's access log back as fields, and provide the local targets (HTTP,
// TCP answer-after-EOF, UDP echo).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "net.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks::interop {

using namespace std::chrono_literals;
using test::CommandResult;
using test::ServerProcess;

inline const char* const kServer = "06-full-server/socks5-server";

// A required client: a missing one fails the test and names the Debian package.
testing::AssertionResult installed(const std::string& tool, const std::string& package);

// Records the version of the client a test ran against: the Debian package's
// version, plus the first line of `version_command`'s output when given. It is
// printed as "[ client   ] ..." and stored as the test property client_version.
std::string record_version(const std::string& package,
                           const std::vector<std::string>& version_command = {});

// Runs `argv` with the proxy variables removed from the environment (a client
// must only use the proxy its test gives it) and `environment` ("NAME=value")
// added; killed after `timeout`.
CommandResult run(const std::vector<std::string>& argv,
                  const std::vector<std::string>& environment = {}, std::string_view input = {},
                  std::chrono::milliseconds timeout = 30s);

// "exit 97 (timed out)\nstdout: ...\nstderr: ..." for failure messages (long output cut).
std::string show(const CommandResult& result);

using test::random_text;  // target.hpp
using test::url;

// One "access client=... note=\"...\"" line of the server's log, split into fields.
struct Access {
    std::string line;
    std::map<std::string, std::string> fields;
    std::string operator[](const std::string& key) const;
};
std::vector<Access> access_lines(const std::string& log);

// Waits (bounded, woken by the server's log) until an access line has every
// field in `expected`, and stores it in `line`; fails with the whole log otherwise.
testing::AssertionResult logged(const ServerProcess& proxy,
                                const std::map<std::string, std::string>& expected,
                                Access* line = nullptr, std::chrono::milliseconds timeout = 10s);

// A temporary directory, removed with everything in it on destruction.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "socks5-interop");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    // Writes `text` to path()/name and returns the file's path.
    std::string write(const std::string& name, const std::string& text, int mode = 0600) const;

  private:
    std::string path_;
};

// A TCP target that reads until the client's EOF, then answers
// "got N bytes: <first 64 bytes>\n" and closes: a client that loses the
// answer after shutting down its write side fails against it.
test::BackgroundServer answer_after_eof_target(const std::string& host = "127.0.0.1");

// A UDP target that sends every datagram back to its sender, prefixed "echo:".
class UdpEchoTarget {
  public:
    explicit UdpEchoTarget(const std::string& host = "127.0.0.1");
    ~UdpEchoTarget();
    UdpEchoTarget(const UdpEchoTarget&) = delete;
    UdpEchoTarget& operator=(const UdpEchoTarget&) = delete;
    std::uint16_t port() const { return port_; }
    int datagrams() const { return datagrams_.load(); }

  private:
    Fd socket_;
    Fd wake_;  // an eventfd that ends the thread
    std::uint16_t port_ = 0;
    std::atomic<int> datagrams_{0};
    std::thread thread_;
};

// The name of the user running the tests (root on CI).
std::string current_user();

}  // namespace socks::interop
