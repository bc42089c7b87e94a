// Chapter 06's session: SOCKS5 or SOCKS4/4a on one port, rules, the resolver
// overrides, the handshake deadline, the relay, and one access-log line.
#pragma once

#include <chrono>
#include <optional>

#include "config.hpp"
#include "deadlines.hpp"
#include "net.hpp"
#include "per_source.hpp"

namespace socks {

class SessionContext {
  public:
    explicit SessionContext(const Config& config);
    // Reports the refusal lines still held back (per_source.hpp).
    ~SessionContext();
    SessionContext(const SessionContext&) = delete;
    SessionContext& operator=(const SessionContext&) = delete;
    // The ConnectionHandler for the Server.
    void serve(const Fd& client, const SocketAddress& peer);

  private:
    struct AccessRecord;
    // Everything up to the relay: handshake, request, and the command's own
    // work (dialing, BIND, UDP ASSOCIATE). Returns what to relay to, if anything.
    std::optional<Fd> negotiate(const Fd& client, const SocketAddress& peer, AccessRecord& record);
    // A connection from a --proxy-protocol-from balancer: reads its PROXY
    // header and returns the client it names (the connection's own peer for a
    // LOCAL or UNKNOWN header), or nothing when the header is missing or bad.
    std::optional<SocketAddress> client_behind_balancer(const Fd& client,
                                                        const SocketAddress& balancer,
                                                        AccessRecord& record);
    void log_access(const SocketAddress& peer, const AccessRecord& record,
                    std::chrono::steady_clock::duration took);
    void log_access_json(const SocketAddress& peer, const AccessRecord& record,
                         std::chrono::steady_clock::duration took);
    // A refusal's line, unless this client has had its share this minute.
    void log_refusal(const SocketAddress& peer, const AccessRecord& record,
                     std::chrono::steady_clock::duration took);
    // "access client=SOURCE suppressed=N note=..." for the lines held back.
    void log_suppressed(const std::string& source, std::uint64_t count);

    const Config& config_;
    Deadlines deadlines_;
    PerSource per_source_;
    // What a client whose logins are refused is checked against: one account
    // whose 256-byte name no RFC 1929 message can carry (ULEN is at most 255),
    // so every password fails, in the same time and with the same bytes.
    Users nobody_;
};

}  // namespace socks
