// Chapter 06's test helpers: the real clients (curl, ncat, PySocks) with
// deadlines, the access log read back as fields, and raw SOCKS4/SOCKS5
// requests for the cases no real client sends.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "net.hpp"
#include "process.hpp"
#include "request.hpp"
#include "server.hpp"
#include "target.hpp"

namespace socks::ch06 {

using namespace std::chrono_literals;
using test::CommandResult;
using test::read_until_close;
using test::ServerProcess;
using test::UntilClose;

inline const char* const kServer = "06-full-server/socks5-server";

// "exit 97\nstdout: ...\nstderr: ..." for failure messages.
std::string show(const CommandResult& result);

// Tools are required: a missing one fails the test (ASSERT_TRUE(installed("curl"))).
testing::AssertionResult installed(const std::string& tool);

// curl that ignores ~/.curlrc and proxy variables from the environment.
CommandResult curl(const std::vector<std::string>& args);
// tools/pysocks-client with Debian's python3-socks.
CommandResult pysocks(const std::vector<std::string>& args);
CommandResult ncat(const std::vector<std::string>& args, std::string_view input = {});

using test::random_text;  // target.hpp
using test::url;

// The HTTP/1.0 response HttpTarget sends for `body` (to check byte counts).
std::size_t http_response_size(const std::string& content_type, const std::string& body);

// One "access client=... proto=... note=\"...\"" line, split into its fields.
struct Access {
    std::string line;
    std::map<std::string, std::string> fields;
    std::string operator[](const std::string& key) const;
};
std::vector<Access> access_lines(const std::string& log);
// Waits until the server has logged `count` access lines and returns them all
// (an ADD_FAILURE and what there is on timeout).
std::vector<Access> wait_for_access(const ServerProcess& server, std::size_t count,
                                    std::chrono::milliseconds timeout = 10s);
// The `count`-th access line (1-based), after waiting for it.
Access access(const ServerProcess& server, std::size_t count);

// Checks the fields of an access line; `expected` maps key -> value.
testing::AssertionResult has_fields(const Access& line,
                                    const std::map<std::string, std::string>& expected);

// An IPv4 or IPv6 literal as a SocketAddress (throws std::invalid_argument otherwise).
SocketAddress ip(const std::string& text, std::uint16_t port = 0);

// SOCKS5 request bytes: 05 CMD 00 ATYP ADDR PORT.
Bytes socks5_request_ip(const std::string& ip, std::uint16_t port, std::uint8_t command = 0x01);
Bytes socks5_request_domain(const std::string& name, std::uint16_t port,
                            std::uint8_t command = 0x01);
// SOCKS4 (ip) or SOCKS4a (ip 0.0.0.1 and `host`) request bytes.
Bytes socks4_request(const std::string& ip, std::uint16_t port, const std::string& user_id,
                     const std::optional<std::string>& host = std::nullopt,
                     std::uint8_t command = 0x01);

// A SOCKS5 exchange with full control: greeting, optional RFC 1929, then
// `request`; reads the whole reply (whatever its ATYP).
struct Socks5Result {
    Fd socket;
    Bytes method_selection;  // 2 bytes, or fewer if the server closed
    int reply = -1;          // REP, or -1 when no full reply arrived
    Address bound;           // BND.ADDR/BND.PORT when a reply arrived
    Bytes reply_bytes;
};
Socks5Result socks5_exchange(const Endpoint& proxy, const Bytes& request,
                             const Bytes& greeting = {0x05, 0x01, 0x00},
                             const std::optional<std::pair<std::string, std::string>>& user = {});

// A SOCKS4 exchange: sends `request`, reads the 8-byte reply.
struct Socks4Result {
    Fd socket;
    Bytes reply;  // 8 bytes, or fewer if the server closed
};
Socks4Result socks4_exchange(const Endpoint& proxy, const Bytes& request);

// Reads up to `size` bytes, fewer if the peer closes (or resets) first.
Bytes read_up_to(const Fd& socket, std::size_t size);

// Sends `text` and reads the same number of bytes back (an echo through the proxy).
std::string echo_round_trip(const Fd& socket, const std::string& text);

// A target that records the peer address of every connection, then echoes.
class RecordingTarget {
  public:
    explicit RecordingTarget(const std::string& host = "127.0.0.1");
    std::uint16_t port() const { return server_.port(); }
    int connections() const;
    std::vector<SocketAddress> peers() const;

  private:
    mutable std::mutex mutex_;
    std::vector<SocketAddress> peers_;
    test::BackgroundServer server_;
};

// A file in the test's temporary directory with `text` in it; removed on destruction.
class TempFile {
  public:
    explicit TempFile(const std::string& text);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace socks::ch06
