// What chapters 02 and 03 do after the handshake: show the reader the bytes
// the client sends next (the request chapter 04 will parse).
#pragma once

#include <cstddef>
#include <string>

#include "net.hpp"

namespace socks {

// `hexdump -C` style: offset, 16 bytes in hex, the same bytes as ASCII.
// 00000000  05 01 00 01 7f 00 00 01  1f 90                    |..........|
std::string format_hexdump(ByteView bytes, std::size_t first_offset = 0);

// Prints everything `client` sends to stdout as a hex dump, until it closes.
void dump_until_closed(const Fd& client, const SocketAddress& peer);

}  // namespace socks
