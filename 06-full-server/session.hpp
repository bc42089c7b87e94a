// Chapter 06's session: SOCKS5 or SOCKS4/4a on one port, rules, the resolver
// overrides, the handshake deadline, the relay, and one access-log line.
#pragma once

#include "config.hpp"
#include "deadlines.hpp"
#include "net.hpp"

namespace socks {

class SessionContext {
  public:
    explicit SessionContext(const Config& config) : config_(config) {}
    // The ConnectionHandler for the Server.
    void serve(const Fd& client, const SocketAddress& peer);

  private:
    const Config& config_;
    Deadlines deadlines_;
};

}  // namespace socks
