// Ending a session so that the last reply (a refusal above all) reaches the client.
#pragma once

#include <chrono>
#include <cstddef>

#include "net.hpp"

namespace socks {

// Ends the conversation without losing what was just sent. Closing a socket
// that still holds unread bytes makes the kernel send RST instead of FIN, and a
// client that sees the reset may throw away the reply that had already arrived
// (nc prints nothing; curl reports "Connection reset by peer"). Bytes often are
// unread after a refusal: a client that pipelines sends its request right behind
// the greeting, curl its HTTP request right behind the CONNECT. So: send FIN
// first (shutdown SHUT_WR), then read and discard until the client closes too,
// for at most `linger` in all and at most `discard_limit` bytes, so a client
// that never closes cannot hold the session's thread. The caller's Fd closes
// the socket afterwards.
void hang_up(const Fd& client, std::chrono::milliseconds linger = std::chrono::seconds(2),
             std::size_t discard_limit = 256 * 1024);

}  // namespace socks
