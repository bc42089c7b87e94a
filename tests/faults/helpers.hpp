// Helpers for the fault, load and security tests: raw SOCKS bytes, reads
// that always end, /proc figures of the server process, and a control client.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "client.hpp"
#include "net.hpp"
#include "process.hpp"
#include "request.hpp"
#include "target.hpp"

namespace socks::faults {

using namespace std::chrono_literals;
using test::ServerProcess;
using Clock = std::chrono::steady_clock;
using Credentials = std::pair<std::string, std::string>;

inline const char* const kServer = "06-full-server/socks5-server";

// Whether this build runs under AddressSanitizer or ThreadSanitizer (slower,
// more memory: ASan keeps freed memory in quarantine, and TSan keeps a history
// per thread, which lives as long as chapter 06's spare threads do).
constexpr bool kSanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

std::chrono::milliseconds since(Clock::time_point start);

// ---- bytes ----------------------------------------------------------------
Bytes greeting(std::initializer_list<std::uint8_t> methods);
using test::user_pass;  // client.hpp
Bytes request_ipv4(const std::string& ip, std::uint16_t port, std::uint8_t command = 0x01);
Bytes request_ipv6(const std::string& ip, std::uint16_t port, std::uint8_t command = 0x01);
Bytes request_domain(const std::string& name, std::uint16_t port, std::uint8_t command = 0x01);
Bytes socks4a_request(const std::string& host, std::uint16_t port);
Bytes concat(std::initializer_list<Bytes> parts);

// ---- reading, always bounded ------------------------------------------------
// Up to `n` bytes: fewer when the peer closes, resets, or the receive timeout passes.
Bytes read_up_to(const Fd& socket, std::size_t n);

// Reads until the peer closes (EOF or reset) or `timeout` passes.
struct Ending {
    Bytes bytes;          // what arrived before the end
    bool closed = false;  // EOF or reset
    bool reset = false;   // ECONNRESET
    bool timed_out = false;
};
Ending read_until_close(const Fd& socket, std::chrono::milliseconds timeout = 10s);

// A whole SOCKS5 reply (10, 22 or 7+N bytes). code = -1 when none arrived.
struct Reply {
    int code = -1;
    Address bound;
};
Reply read_reply(const Fd& socket);

// Greeting (with RFC 1929 when `user` is given) and `request` on a new
// connection; the socket and the reply code (-1: no reply).
struct Session {
    Fd socket;
    int reply = -1;
    Address bound;
};
Session socks5(const Endpoint& proxy, const Bytes& request,
               const std::optional<Credentials>& user = std::nullopt);

// A CONNECT through `proxy` to `echo`, and one round trip of `text`.
// Waits (up to `timeout`) until the server holds `base_fds` descriptors and
// `base_threads` threads again, as before its sessions. `end_fds` and
// `end_threads` get the counts last seen, for the figures; the failure
// message compares them with the base.
testing::AssertionResult settles_to(const ServerProcess& proxy, int base_fds, int base_threads,
                                    int& end_fds, int& end_threads,
                                    std::chrono::milliseconds timeout = 20s);

testing::AssertionResult control_client_served(const Endpoint& proxy, std::uint16_t echo_port,
                                               const std::optional<Credentials>& user = {},
                                               const std::string& text = "control");

// Sends `text`, reads the same number of bytes back.
std::string round_trip(const Fd& socket, const std::string& text);

// ---- the server process, from /proc ------------------------------------------
long rss_kib(pid_t pid);        // VmRSS
double cpu_seconds(pid_t pid);  // user + system time so far

// Counts occurrences of `needle` in the server's log so far.
int log_count(const ServerProcess& server, std::string_view needle);

// A loopback target that counts the connections it accepted (and echoes).
class CountingTarget {
  public:
    CountingTarget();
    std::uint16_t port() const { return server_.port(); }
    int accepted() const { return accepted_.load(); }

  private:
    std::atomic<int> accepted_{0};
    test::BackgroundServer server_;
};

// Close with RST instead of FIN (SO_LINGER 0) when `socket` is closed.
void reset_on_close(const Fd& socket);

// ---- UDP ----------------------------------------------------------------------
// A UDP socket bound to `ip` (port chosen by the kernel), reads time out after 5 s.
Fd udp_on(const char* ip);
// The SOCKS5 reply's BND (an IPv4 address) as a socket address.
SocketAddress ipv4_address(const std::array<std::uint8_t, 16>& ip, std::uint16_t port);
// RSV RSV FRAG=0 ATYP=01 target, then `data`.
Bytes udp_datagram_to(const SocketAddress& target, const std::string& data);
// One datagram's payload, "" on timeout.
std::string receive_text(const Fd& socket);

}  // namespace socks::faults
