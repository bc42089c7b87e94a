// Raw SOCKS clients for BIND and UDP ASSOCIATE, and a UDP echo target.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "net.hpp"

namespace socks::test {

// A reply read off the wire: REP and BND as an endpoint.
struct WireReply {
    int code = -1;  // REP (SOCKS5) or CD (SOCKS4); -1 if none arrived
    Endpoint bound;
};
WireReply read_socks5_reply(const Fd& socket);
WireReply read_socks4_reply(const Fd& socket);

// Greeting (no auth, or user/password), then one request; returns the socket
// with the request sent (the caller reads the replies).
Fd send_socks5_request(const Endpoint& proxy, std::uint8_t command, const Bytes& address_and_port,
                       const std::string& user = "", const std::string& password = "");
Bytes ipv4_address(const std::string& ip, std::uint16_t port);  // ATYP 01 ADDR PORT

// A UDP socket bound to `host`:0 with a 5 s receive timeout.
Fd udp_socket(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
void send_datagram(const Fd& socket, const Endpoint& to, ByteView data);
// Returns the datagram, or nothing after the receive timeout.
std::optional<Bytes> receive_datagram(const Fd& socket);

// Echoes every datagram back to its sender, until destroyed.
class UdpEcho {
  public:
    explicit UdpEcho(const std::string& host = "127.0.0.1");
    ~UdpEcho();
    std::uint16_t port() const { return port_; }
    int received() const { return received_; }

  private:
    Fd socket_;
    Fd wake_read_, wake_write_;
    std::uint16_t port_;
    std::atomic<int> received_{0};
    std::thread thread_;
};

}  // namespace socks::test
