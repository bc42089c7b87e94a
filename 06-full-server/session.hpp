// Chapter 06's session: SOCKS5 or SOCKS4/4a on one port, rules, the resolver
// overrides, the handshake deadline, the relay, and one access-log line.
#pragma once

#include <chrono>
#include <optional>

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
    struct AccessRecord;
    // Everything up to the relay: handshake, request, and the command's own
    // work (dialing, BIND, UDP ASSOCIATE). Returns what to relay to, if anything.
    std::optional<Fd> negotiate(const Fd& client, const SocketAddress& peer, AccessRecord& record);
    void log_access(const SocketAddress& peer, const AccessRecord& record,
                    std::chrono::steady_clock::duration took);

    const Config& config_;
    Deadlines deadlines_;
};

}  // namespace socks
