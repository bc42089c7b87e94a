#include "net.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>

#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>

namespace socks {

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.release();
    }
    return *this;
}

int Fd::release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

void throw_errno(const char* call, int error) {
    throw std::system_error(error, std::generic_category(), call);
}

void throw_errno(const char* call) {
    throw_errno(call, errno);
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {  // [v6]:port
        auto close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    }
    unsigned value = 0;
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || port.empty() || error != std::errc{} || end != port.data() + port.size() ||
        value > 65535) {
        return std::nullopt;
    }
    return Endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string to_string(const Endpoint& endpoint) {
    bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

std::string SocketAddress::host() const {
    char text[INET6_ADDRSTRLEN] = "?";
    if (family() == AF_INET) {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
        ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    } else if (family() == AF_INET6) {
        auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    }
    return text;
}

std::uint16_t SocketAddress::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
    }
    return 0;
}

std::string SocketAddress::to_string() const {
    return socks::to_string(Endpoint{host(), port()});
}

void set_port(SocketAddress& address, std::uint16_t port) {
    if (address.family() == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&address.storage)->sin_port = htons(port);
    } else if (address.family() == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&address.storage)->sin6_port = htons(port);
    }
}

SocketAddress local_address(const Fd& socket) {
    SocketAddress address;
    address.size = sizeof address.storage;
    if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address.storage), &address.size) <
        0) {
        throw_errno("getsockname");
    }
    return address;
}

SocketAddress peer_address(const Fd& socket) {
    SocketAddress address;
    address.size = sizeof address.storage;
    if (::getpeername(socket.get(), reinterpret_cast<sockaddr*>(&address.storage), &address.size) <
        0) {
        throw_errno("getpeername");
    }
    return address;
}

namespace {

struct AddrInfoDeleter {
    void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

AddrInfoList resolve_tcp(const Endpoint& endpoint, int flags) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags;
    addrinfo* list = nullptr;
    std::string port = std::to_string(endpoint.port);
    int status = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &list);
    if (status != 0) {
        throw std::runtime_error("getaddrinfo(" + endpoint.host + "): " + ::gai_strerror(status));
    }
    return AddrInfoList(list);
}

}  // namespace

Fd listen_tcp(const Endpoint& endpoint, int backlog, bool reuse_port) {
    AddrInfoList list = resolve_tcp(endpoint, AI_PASSIVE);
    int last_error = 0;
    const char* failed_call = "socket";
    for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (!fd) {
            last_error = errno;
            continue;
        }
        // Restarting the server must not wait for TIME_WAIT sockets of the last run.
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
            last_error = errno;
            failed_call = "setsockopt(SO_REUSEPORT)";
            continue;
        }
        // "[::1]:1080" means IPv6 only; 127.0.0.1 gets its own --listen.
        if (ai->ai_family == AF_INET6) {
            ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        }
        if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
            last_error = errno;
            failed_call = "bind";
            continue;
        }
        if (::listen(fd.get(), backlog) < 0) {
            last_error = errno;
            failed_call = "listen";
            continue;
        }
        return fd;
    }
    // "bind 127.0.0.1:1080: Address already in use": which address, not only why.
    std::string call = std::string(failed_call) + " " + to_string(endpoint);
    throw_errno(call.c_str(), last_error);
}

Fd connect_tcp(const Endpoint& endpoint) {
    AddrInfoList list = resolve_tcp(endpoint, 0);
    int last_error = 0;
    for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (!fd) {
            last_error = errno;
            continue;
        }
        int rc;
        do {
            rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0) return fd;
        last_error = errno;
    }
    throw_errno("connect", last_error);
}

std::size_t read_some(const Fd& socket, std::span<std::uint8_t> buffer) {
    for (;;) {
        ssize_t n = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        // SO_RCVTIMEO expiry shows up as EAGAIN; name it for what it is.
        if (errno == EAGAIN || errno == EWOULDBLOCK) throw_errno("recv", ETIMEDOUT);
        throw_errno("recv");
    }
}

bool read_exact(const Fd& socket, std::span<std::uint8_t> buffer, std::size_t* received) {
    // BEGIN SOLUTION ch01: fill `buffer` completely with read_some(), however the bytes arrive; return false if the peer closes first
    std::size_t done = 0;
    bool complete = true;
    while (done < buffer.size()) {
        std::size_t n = read_some(socket, buffer.subspan(done));
        if (n == 0) {
            complete = false;
            break;
        }
        done += n;
    }
    if (received != nullptr) *received = done;
    return complete;
    // END SOLUTION
}

void write_all(const Fd& socket, ByteView bytes) {
    // BEGIN SOLUTION ch01: send every byte with send(..., MSG_NOSIGNAL), looping over short writes and EINTR
    std::size_t done = 0;
    while (done < bytes.size()) {
        // MSG_NOSIGNAL: a peer that has gone away gives EPIPE here instead of
        // killing the whole process with SIGPIPE.
        ssize_t n = ::send(socket.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) throw_errno("send", ETIMEDOUT);
            throw_errno("send");
        }
        done += static_cast<std::size_t>(n);
    }
    // END SOLUTION
}

void write_all(const Fd& socket, std::string_view text) {
    write_all(socket, ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void abort_connection(int socket) {
    sockaddr unspecified{};
    unspecified.sa_family = AF_UNSPEC;
    ::connect(socket, &unspecified, sizeof unspecified);
}

namespace {
void set_timeout(const Fd& socket, int option, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    if (::setsockopt(socket.get(), SOL_SOCKET, option, &tv, sizeof tv) < 0) {
        throw_errno("setsockopt");
    }
}
}  // namespace

void set_receive_timeout(const Fd& socket, std::chrono::milliseconds timeout) {
    set_timeout(socket, SO_RCVTIMEO, timeout);
}

void set_send_timeout(const Fd& socket, std::chrono::milliseconds timeout) {
    set_timeout(socket, SO_SNDTIMEO, timeout);
}

}  // namespace socks
