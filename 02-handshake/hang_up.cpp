#include "hang_up.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <system_error>

namespace socks {

void hang_up(const Fd& client, std::chrono::milliseconds linger, std::size_t discard_limit) {
    // [docs:hang-up]
    ::shutdown(client.get(), SHUT_WR);  // FIN: "no more bytes from me"
    auto deadline = std::chrono::steady_clock::now() + linger;
    std::uint8_t discard[4096];
    std::size_t discarded = 0;
    try {
        while (discarded < discard_limit) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            set_receive_timeout(client, std::max(left, std::chrono::milliseconds(1)));
            std::size_t n = read_some(client, discard);
            if (n == 0) break;  // the client's FIN: it has read everything it wanted
            discarded += n;
        }
    } catch (const std::system_error&) {
        // A reset, or `linger` ran out: either way the session is over.
    }
    // [/docs:hang-up]
}

}  // namespace socks
