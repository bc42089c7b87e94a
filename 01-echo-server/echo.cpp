#include "echo.hpp"

#include <array>
#include <chrono>
#include <cstdint>

#include "log.hpp"
#include "server.hpp"

namespace socks {

void echo_session(const Fd& client, const SocketAddress& peer) {
    // BEGIN SOLUTION ch01: read what arrives and write all of it back until the client closes; log the open and close lines
    auto started = std::chrono::steady_clock::now();
    log_info(peer.to_string() + " connected");
    std::array<std::uint8_t, 16 * 1024> buffer;
    std::size_t total = 0;
    try {
        // recv() returns whatever has arrived, 1 byte or 16 KiB; write_all()
        // loops until the kernel has taken all of it.
        // [docs:echo-loop]
        while (std::size_t n = read_some(client, buffer)) {
            write_all(client, ByteView(buffer.data(), n));
            total += n;
        }
        // [/docs:echo-loop]
    } catch (const std::exception& error) {
        // On Ctrl-C the server resets every open session: that error is expected.
        if (!stopping()) log_warn(peer.to_string() + ": " + error.what());
    }
    log_info(peer.to_string() + " closed: echoed " + std::to_string(total) + " bytes in " +
             format_seconds(std::chrono::steady_clock::now() - started) +
             (stopping() ? " (cut: the server is stopping)" : ""));
    // END SOLUTION
}

}  // namespace socks
