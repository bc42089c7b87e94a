#include "socks_commands.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.hpp"
#include "process.hpp"

namespace socks::test {

WireReply read_socks5_reply(const Fd& socket) {
    WireReply reply;
    std::uint8_t head[4];
    if (!read_exact(socket, head)) return reply;
    std::size_t size = head[3] == 0x04 ? 16 : 4;
    Bytes address(size + 2);
    if (!read_exact(socket, address)) return reply;
    char text[INET6_ADDRSTRLEN];
    ::inet_ntop(size == 4 ? AF_INET : AF_INET6, address.data(), text, sizeof text);
    reply.code = head[1];
    reply.bound = {text, static_cast<std::uint16_t>(address[size] << 8 | address[size + 1])};
    return reply;
}

WireReply read_socks4_reply(const Fd& socket) {
    WireReply reply;
    std::uint8_t bytes[8];
    if (!read_exact(socket, bytes)) return reply;
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, bytes + 4, text, sizeof text);
    reply.code = bytes[1];
    reply.bound = {text, static_cast<std::uint16_t>(bytes[2] << 8 | bytes[3])};
    return reply;
}

Bytes ipv4_address(const std::string& ip, std::uint16_t port) {
    Bytes out{0x01,
              0,
              0,
              0,
              0,
              static_cast<std::uint8_t>(port >> 8),
              static_cast<std::uint8_t>(port & 0xFF)};
    ::inet_pton(AF_INET, ip.c_str(), out.data() + 1);
    return out;
}

Fd send_socks5_request(const Endpoint& proxy, std::uint8_t command, const Bytes& address_and_port,
                       const std::string& user, const std::string& password) {
    Fd socket = connect_client(proxy);
    bool auth = !user.empty();
    write_all(socket, Bytes{0x05, 0x01, static_cast<std::uint8_t>(auth ? 0x02 : 0x00)});
    std::uint8_t selection[2];
    if (!read_exact(socket, selection)) throw std::runtime_error("no method selection");
    if (auth) {
        write_all(socket, user_pass(user, password));
        std::uint8_t status[2];
        if (!read_exact(socket, status) || status[1] != 0) throw std::runtime_error("auth failed");
    }
    Bytes request{0x05, command, 0x00};
    request.insert(request.end(), address_and_port.begin(), address_and_port.end());
    write_all(socket, request);
    return socket;
}

Fd udp_socket(const std::string& host, std::uint16_t port) {
    Fd socket(::socket(host.find(':') != std::string::npos ? AF_INET6 : AF_INET,
                       SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage storage{};
    socklen_t size;
    if (host.find(':') != std::string::npos) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr);
        size = sizeof *v6;
    } else {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr);
        size = sizeof *v4;
    }
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&storage), size) < 0) throw_errno("bind");
    set_receive_timeout(socket, std::chrono::seconds(5));
    return socket;
}

void send_datagram(const Fd& socket, const Endpoint& to, ByteView data) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(to.port);
    ::inet_pton(AF_INET, to.host.c_str(), &v4.sin_addr);
    if (::sendto(socket.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&v4),
                 sizeof v4) < 0) {
        throw_errno("sendto");
    }
}

std::optional<Bytes> receive_datagram(const Fd& socket) {
    Bytes buffer(65536);
    ssize_t n = ::recv(socket.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return buffer;
}

UdpEcho::UdpEcho(const std::string& host) : socket_(udp_socket(host)) {
    port_ = local_address(socket_).port();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe2");
    wake_read_ = Fd(fds[0]);
    wake_write_ = Fd(fds[1]);
    thread_ = std::thread([this] {
        Bytes buffer(65536);
        for (;;) {
            pollfd p[2] = {{socket_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
            if (::poll(p, 2, -1) < 0 || p[1].revents != 0) return;
            sockaddr_storage from{};
            socklen_t size = sizeof from;
            ssize_t n = ::recvfrom(socket_.get(), buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &size);
            if (n < 0) continue;
            ++received_;
            ::sendto(socket_.get(), buffer.data(), static_cast<std::size_t>(n), 0,
                     reinterpret_cast<sockaddr*>(&from), size);
        }
    });
}

UdpEcho::~UdpEcho() {
    char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wake_write_.get(), &byte, 1);
    thread_.join();
}

}  // namespace socks::test
