// A DNS lookup with a deadline. getaddrinfo() has no timeout a caller can
// give it: the resolver waits as /etc/resolv.conf says (5 s per server and
// attempt by default), so a slow or silent DNS server would hold a session
// thread, and its slot, for as long as the resolver likes.
#pragma once

#include <chrono>
#include <cstddef>

#include "dial.hpp"
#include "request.hpp"

namespace socks {

// Chapter 04's resolve(), waited for at most `deadline`. A name is looked up
// on a thread of its own; when it is late the caller gets 04 host unreachable
// at the deadline, and the lookup finishes on its thread and is thrown away.
// At most `max_waiting` lookups run at once, late ones included (0: no
// limit); past that a name gets 04 at once. IP addresses and .invalid names need no DNS server
// and no thread.
Resolved resolve_within(const Address& destination, std::chrono::milliseconds deadline,
                        std::size_t max_waiting);

}  // namespace socks
