// Chapter 05: after a successful CONNECT, move bytes both ways until both
// sides are done, passing each side's FIN on to the other (half-close).
#pragma once

#include <poll.h>

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

// Small pieces of the relay, shared with chapter 06's fast relay.
// An error that only means "nothing to do right now" (after MSG_DONTWAIT).
bool would_block(int error);
// SO_LINGER with a zero timeout: close() then sends RST instead of FIN.
void reset_on_close(int fd);
// What poll() reported for the relay's two sockets: records POLLHUP in
// `hung_up`, and returns the side (0 or 1) of the first socket with POLLERR,
// with its error in `error` (SO_ERROR, or ECONNRESET if that is empty); -1 when
// neither has one. A reset shows up as POLLERR even on a socket not waited on.
int failed_side(const pollfd (&polled)[2], bool (&hung_up)[2], int& error);

// Chapter 05's whole session: handshake (chapter 03), request and connect
// (chapter 04), relay, and one close line with byte counts and duration.
void proxy_session(const Fd& client, const SocketAddress& peer, const Users& users);

}  // namespace socks
