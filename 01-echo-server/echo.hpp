// Chapter 01's whole protocol: send every byte back.
#pragma once

#include "net.hpp"

namespace socks {

// Echoes until the client closes; logs the session's open and close lines.
void echo_session(const Fd& client, const SocketAddress& peer);

}  // namespace socks
