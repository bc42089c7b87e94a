#include "socks_client.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace bench {

using socks::Fd;

std::optional<sockaddr_in> parse_ipv4_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (::inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) != 1)
        return std::nullopt;
    try {
        std::size_t used = 0;
        unsigned long port = std::stoul(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1 || port == 0 || port > 65535) return std::nullopt;
        address.sin_port = htons(static_cast<std::uint16_t>(port));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return address;
}

namespace {

Fd connect_to(const sockaddr_in& address) {
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!socket) socks::throw_errno("socket");
    int result;
    do {
        result =
            ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
    } while (result < 0 && errno == EINTR);
    if (result < 0) socks::throw_errno("connect");
    int one = 1;
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return socket;
}

void expect(const Fd& socket, std::uint8_t* bytes, std::size_t size, const char* what) {
    if (!socks::read_exact(socket, {bytes, size}))
        throw std::runtime_error(std::string("proxy closed during ") + what);
}

}  // namespace

Fd open_stream(const Route& route, std::uint16_t target_port) {
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    target.sin_port = htons(target_port);
    if (!route.proxy) return connect_to(target);

    Fd socket = connect_to(*route.proxy);
    std::uint8_t reply[262];
    // Greeting: VER 05, one method: 02 (username/password) or 00 (none).
    const bool auth = route.user.has_value();
    const std::uint8_t greeting[] = {0x05, 0x01, static_cast<std::uint8_t>(auth ? 0x02 : 0x00)};
    socks::write_all(socket, socks::ByteView(greeting));
    expect(socket, reply, 2, "greeting");
    if (reply[0] != 0x05 || reply[1] != greeting[2])
        throw std::runtime_error("proxy refused the method");
    if (auth) {
        std::vector<std::uint8_t> login{0x01, static_cast<std::uint8_t>(route.user->size())};
        login.insert(login.end(), route.user->begin(), route.user->end());
        login.push_back(static_cast<std::uint8_t>(route.password->size()));
        login.insert(login.end(), route.password->begin(), route.password->end());
        socks::write_all(socket, socks::ByteView(login));
        expect(socket, reply, 2, "authentication");
        if (reply[1] != 0x00) throw std::runtime_error("proxy rejected the credentials");
    }
    // CONNECT 127.0.0.1:port (ATYP 01).
    std::uint8_t request[10] = {0x05, 0x01, 0x00, 0x01};
    std::memcpy(request + 4, &target.sin_addr, 4);
    std::memcpy(request + 8, &target.sin_port, 2);
    socks::write_all(socket, socks::ByteView(request));
    expect(socket, reply, 4, "the reply");
    if (reply[1] != 0x00)
        throw std::runtime_error("CONNECT failed with reply " + std::to_string(reply[1]));
    // BND.ADDR and BND.PORT: read and ignored.
    std::size_t rest = reply[3] == 0x01 ? 6 : reply[3] == 0x04 ? 18 : 0;
    std::size_t at = 4;
    if (reply[3] == 0x03) {
        expect(socket, reply + 4, 1, "the reply");
        rest = std::size_t{reply[4]} + 2;
        at = 5;
    }
    if (rest == 0) throw std::runtime_error("reply with an unknown address type");
    expect(socket, reply + at, rest, "the reply");
    return socket;
}

}  // namespace bench
