// Chapter 06's relay: chapter 05's contract, fewer copies. Same half-close,
// same reset propagation, same idle timeout, same byte counts; but once a
// direction carries bulk data, its bytes go socket -> pipe -> socket with
// splice(2) and never enter this process's memory. docs/performance.md
// measures what that buys.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "net.hpp"
#include "relay.hpp"

namespace socks {

struct FastRelayOptions {
    // 0: wait forever. Otherwise the relay ends (both sides reset) when neither
    // side has sent anything for this long, as in chapter 05.
    std::chrono::milliseconds idle_timeout{0};
    // Each direction starts by copying through a buffer this big on the
    // thread's stack: for small messages a copy costs no more than a splice,
    // and an idle session holds no pipe. Small on purpose: an idle session
    // keeps its relay's frame resident, and with 512-byte buffers that frame
    // and the frames above it fit in the page below the thread's own data
    // (docs/performance.md: two pages of stack per idle session, not three).
    static constexpr std::size_t copy_buffer_size = 512;
    // A read that fills the buffer after this many bytes went through means
    // bulk data: that direction switches to splice(2) through a pipe of its
    // own. Below it (a request, a TLS handshake) no pipe is made.
    static constexpr std::uint64_t splice_after = 8 * 1024;
    // Capacity asked for each pipe (F_SETPIPE_SZ); 0 keeps the kernel default
    // (64 KiB). The kernel may give less (fs.pipe-max-size, pipe-user-pages-soft).
    std::size_t pipe_size = 256 * 1024;
    // false: never splice (copy only), to compare.
    bool splice = true;
    // After this long without traffic, give the stack below the relay's frame
    // back to the kernel (madvise): the handshake's deeper calls left those
    // pages resident, and an idle session does not need them. 0: never.
    std::chrono::milliseconds trim_after{1000};
};

// Relays until both directions have ended, like chapter 05's relay(). Needs
// SIGPIPE ignored (as every chapter's program does): splice(2) into a socket
// whose peer is gone raises it, and has no MSG_NOSIGNAL.
RelayResult fast_relay(const Fd& client, const Fd& target, const FastRelayOptions& options = {});

}  // namespace socks
