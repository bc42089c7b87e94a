#include "hexdump.hpp"

#include <array>
#include <cstdio>
#include <mutex>

#include "log.hpp"

namespace socks {

std::string format_hexdump(ByteView bytes, std::size_t first_offset) {
    std::string text;
    char cell[16];
    for (std::size_t row = 0; row < bytes.size(); row += 16) {
        std::snprintf(cell, sizeof cell, "%08zx ", first_offset + row);
        text += cell;
        std::string ascii;
        for (std::size_t i = row; i < row + 16; ++i) {
            if (i % 8 == 0) text += ' ';
            if (i < bytes.size()) {
                std::snprintf(cell, sizeof cell, "%02x ", bytes[i]);
                text += cell;
                ascii += (bytes[i] >= 0x20 && bytes[i] < 0x7f) ? static_cast<char>(bytes[i]) : '.';
            } else {
                text += "   ";
            }
        }
        text += " |" + ascii + "|\n";
    }
    return text;
}

void dump_until_closed(const Fd& client, const SocketAddress& peer) {
    static std::mutex stdout_mutex;  // whole dumps, never interleaved lines
    std::array<std::uint8_t, 4096> buffer;
    std::size_t offset = 0;
    while (std::size_t n = read_some(client, buffer)) {
        std::string dump = peer.to_string() + " sent " + std::to_string(n) + " bytes:\n" +
                           format_hexdump(ByteView(buffer.data(), n), offset);
        offset += n;
        std::lock_guard lock(stdout_mutex);
        std::fwrite(dump.data(), 1, dump.size(), stdout);
        std::fflush(stdout);
    }
    log_info(peer.to_string() + " closed after sending " + std::to_string(offset) +
             " bytes past the handshake");
}

}  // namespace socks
