// Chapter 05: after a successful CONNECT, move bytes both ways until both
// sides are done, passing each side's FIN on to the other (half-close).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "auth.hpp"
#include "net.hpp"

namespace socks {

struct RelayOptions {
    std::size_t buffer_size = 64 * 1024;  // per direction
    // 0: wait forever. Otherwise the relay ends when neither side has sent
    // anything for this long.
    std::chrono::milliseconds idle_timeout{0};
};

struct RelayResult {
    std::uint64_t client_to_target = 0;  // bytes
    std::uint64_t target_to_client = 0;
    bool clean = false;  // true when both sides finished with FIN; false on reset, error or timeout
    std::string ended;   // why it ended, for the log
};

// Copies client→target and target→client in this thread, with poll() over
// both sockets. When one side finishes sending (FIN), the other side's write
// direction is shut down and the opposite direction keeps flowing. A reset or
// error on one side ends both, and the other side is reset too, so it cannot
// mistake a cut-off stream for a complete one.
RelayResult relay(const Fd& client, const Fd& target, const RelayOptions& options = {});

// Chapter 05's whole session: handshake (chapter 03), request and connect
// (chapter 04), relay, and one close line with byte counts and duration.
void proxy_session(const Fd& client, const SocketAddress& peer, const Users& users);

}  // namespace socks
