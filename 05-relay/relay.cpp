#include "relay.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "connect.hpp"
#include "hang_up.hpp"
#include "log.hpp"

namespace socks {

namespace {

// One direction of the relay: bytes read from `from` wait in `buffer` until
// they are written to `to`. At most one buffer of data is in flight, so a slow
// reader slows its writer down (back-pressure) instead of filling our memory.
struct Direction {
    int from;  // index into the pollfd array: 0 = client, 1 = target
    int to;
    std::vector<std::uint8_t> buffer;
    std::size_t start = 0, end = 0;  // pending bytes are buffer[start, end)
    bool eof = false;                // `from` sent FIN
    bool shut = false;               // we passed the FIN on: shutdown(to, SHUT_WR)
    std::uint64_t total = 0;

    bool pending() const { return start < end; }
    bool finished() const { return shut; }
};

}  // namespace

// MSG_DONTWAIT makes one call non-blocking; the sockets stay blocking sockets.
// poll() said the call will not block, but it may still find nothing to do
// (EAGAIN), which is fine.
bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

void reset_on_close(int fd) {
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

int failed_side(const pollfd (&polled)[2], bool (&hung_up)[2], int& error) {
    for (int side = 0; side < 2; ++side) {
        if (polled[side].revents & POLLHUP) hung_up[side] = true;
    }
    for (int side = 0; side < 2; ++side) {
        if (polled[side].revents & POLLERR) {
            error = 0;
            socklen_t size = sizeof error;
            ::getsockopt(polled[side].fd, SOL_SOCKET, SO_ERROR, &error, &size);
            if (error == 0) error = ECONNRESET;
            return side;
        }
    }
    return -1;
}

RelayResult relay(const Fd& client, const Fd& target, const RelayOptions& options) {
    // BEGIN SOLUTION ch05: copy both ways with poll() in this thread, pass each side's FIN on with shutdown(SHUT_WR), end both sides on a reset
    const int fds[2] = {client.get(), target.get()};
    const char* names[2] = {"client", "target"};
    Direction up{0, 1, std::vector<std::uint8_t>(options.buffer_size)};
    Direction down{1, 0, std::vector<std::uint8_t>(options.buffer_size)};
    Direction* directions[2] = {&up, &down};
    RelayResult result;
    bool hung_up[2] = {false, false};  // POLLHUP seen: that socket can only report it again

    // Ends the relay after an error on socket `side`: the other side gets a reset.
    auto fail = [&](int side, const char* call, int error) {
        reset_on_close(fds[1 - side]);
        result.ended = std::string(names[side]) + " " + call + ": " + std::strerror(error);
    };

    while (!(up.finished() && down.finished())) {
        // What we wait for: readable input for a direction with an empty buffer,
        // writable output for a direction with pending bytes.
        pollfd polled[2] = {{fds[0], 0, 0}, {fds[1], 0, 0}};
        for (Direction* d : directions) {
            if (d->pending()) {
                polled[d->to].events |= POLLOUT;
            } else if (!d->eof) {
                polled[d->from].events |= POLLIN;
            }
        }
        // POLLHUP is reported even when not asked for. On a hung-up socket we
        // have nothing to wait for right now, leave it out rather than spin.
        for (int side = 0; side < 2; ++side) {
            if (polled[side].events == 0 && hung_up[side]) polled[side].fd = -1;
        }
        int timeout =
            options.idle_timeout.count() > 0 ? static_cast<int>(options.idle_timeout.count()) : -1;
        int ready = ::poll(polled, 2, timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            result.ended = std::string("poll: ") + std::strerror(errno);
            break;
        }
        if (ready == 0) {
            reset_on_close(fds[0]);
            reset_on_close(fds[1]);
            result.ended = "idle timeout";
            break;
        }
        int error = 0;
        if (int side = failed_side(polled, hung_up, error); side >= 0) {
            fail(side, "socket error", error);
            break;
        }
        bool failed = false;

        for (Direction* d : directions) {
            short in = polled[d->from].revents;
            short out = polled[d->to].revents;
            if (!d->pending() && !d->eof && (in & (POLLIN | POLLHUP))) {
                ssize_t n = ::recv(fds[d->from], d->buffer.data(), d->buffer.size(), MSG_DONTWAIT);
                if (n > 0) {
                    d->start = 0;
                    d->end = static_cast<std::size_t>(n);
                    d->total += static_cast<std::uint64_t>(n);
                } else if (n == 0) {
                    d->eof = true;
                } else if (!would_block(errno)) {
                    fail(d->from, "recv", errno);
                    failed = true;
                    break;
                }
            }
            if (d->pending() && (out & (POLLOUT | POLLHUP))) {
                ssize_t n = ::send(fds[d->to], d->buffer.data() + d->start, d->end - d->start,
                                   MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n >= 0) {
                    d->start += static_cast<std::size_t>(n);
                } else if (!would_block(errno)) {
                    fail(d->to, "send", errno);
                    failed = true;
                    break;
                }
            }
            // Half-close: everything `from` sent has been delivered, so pass
            // its FIN on. The other direction keeps flowing.
            if (d->eof && !d->pending() && !d->shut) {
                ::shutdown(fds[d->to], SHUT_WR);
                d->shut = true;
            }
        }
        if (failed) break;
    }
    result.client_to_target = up.total;
    result.target_to_client = down.total;
    result.clean = up.finished() && down.finished();
    if (result.clean) result.ended = "both sides finished";
    return result;
    // END SOLUTION
}

void proxy_session(const Fd& client, const SocketAddress& peer, const Users& users) {
    auto started = std::chrono::steady_clock::now();
    auto user = handshake(client, peer, users);
    auto connected = user ? serve_request(client, peer, {}) : std::nullopt;
    if (!connected) {
        hang_up(client);  // refused: the 05 FF, 01 01 or failure reply must reach the client
        return;
    }
    RelayResult result = relay(client, connected->target);
    log_info(peer.to_string() + " CONNECT " + connected->destination.to_string() +
             " closed: " + std::to_string(result.client_to_target) + " bytes up, " +
             std::to_string(result.target_to_client) + " bytes down, " +
             format_seconds(std::chrono::steady_clock::now() - started) + ", " + result.ended);
}

}  // namespace socks
