// The socket layer every chapter stands on: an owning descriptor, addresses,
// listen/accept/connect, and reads and writes that survive short transfers.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace socks {

// Protocol bytes are std::uint8_t rather than std::byte: every SOCKS field is a
// number, and uint8_t lets the code read like the RFC (`buf[1] == 0x05`,
// `buf[0] << 8 | buf[1]`) without a cast on every line.
using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Owns one file descriptor and closes it exactly once, in the destructor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd();
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release();

  private:
    int fd_ = -1;
};

// Throws std::system_error whose what() names the call, e.g. "connect: Connection refused".
[[noreturn]] void throw_errno(const char* call, int error);
[[noreturn]] void throw_errno(const char* call);

// What a user types: "127.0.0.1:1080", "[::1]:1080", "localhost:80".
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<Endpoint> parse_endpoint(std::string_view text);
std::string to_string(const Endpoint& endpoint);

// An address as the kernel reports it (accept, getsockname, getpeername).
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t size = 0;

    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    std::string host() const;  // "127.0.0.1" or "::1"
    std::uint16_t port() const;
    std::string to_string() const;  // "127.0.0.1:5555" or "[::1]:5555"
};
void set_port(SocketAddress& address, std::uint16_t port);
SocketAddress local_address(const Fd& socket);
SocketAddress peer_address(const Fd& socket);

// Resolves `endpoint` (numeric or by name) and binds + listens on the first address that works.
// `reuse_port` sets SO_REUSEPORT: several sockets (and processes) may then listen
// on the same address and port, and the kernel spreads new connections over them.
Fd listen_tcp(const Endpoint& endpoint, int backlog = SOMAXCONN, bool reuse_port = false);
// Resolves `endpoint` and connects to each address in turn (a blocking connect, for clients and
// tests).
Fd connect_tcp(const Endpoint& endpoint);

// read/recv that retries EINTR. Returns 0 at end of stream. Throws on errors,
// and throws ETIMEDOUT when a receive timeout set below expires.
std::size_t read_some(const Fd& socket, std::span<std::uint8_t> buffer);
// Fills `buffer` completely, however the bytes arrive. Returns false if the peer
// closed first (the bytes read so far are then in the front of `buffer`, and
// `*received`, when given, says how many there are).
bool read_exact(const Fd& socket, std::span<std::uint8_t> buffer, std::size_t* received = nullptr);
// Sends every byte, however many send() calls it takes. Never raises SIGPIPE.
void write_all(const Fd& socket, ByteView bytes);
void write_all(const Fd& socket, std::string_view text);

// Resets the connection at once (RST, like a close with SO_LINGER 0) without
// closing the descriptor: blocked calls on it return, the peer sees ECONNRESET.
// Safe while another thread still uses the descriptor (connect() with AF_UNSPEC).
void abort_connection(int socket);

// Every later blocking read on `socket` fails with ETIMEDOUT after `timeout` of silence.
void set_receive_timeout(const Fd& socket, std::chrono::milliseconds timeout);
void set_send_timeout(const Fd& socket, std::chrono::milliseconds timeout);

}  // namespace socks
