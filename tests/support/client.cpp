#include "client.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "process.hpp"

namespace socks::test {

Bytes user_pass(const std::string& user, const std::string& password) {
    Bytes out{0x01, static_cast<std::uint8_t>(user.size())};
    out.insert(out.end(), user.begin(), user.end());
    out.push_back(static_cast<std::uint8_t>(password.size()));
    out.insert(out.end(), password.begin(), password.end());
    return out;
}

Socks5Connection socks5_connect(const Endpoint& proxy, const std::string& host, std::uint16_t port,
                                const std::optional<std::pair<std::string, std::string>>& user) {
    Socks5Connection result;
    result.socket = connect_client(proxy);
    const Fd& s = result.socket;
    Bytes greeting = user ? Bytes{0x05, 0x01, 0x02} : Bytes{0x05, 0x01, 0x00};
    write_all(s, greeting);
    std::uint8_t selection[2];
    if (!read_exact(s, selection) || selection[1] != greeting[2]) return result;
    if (user) {
        write_all(s, user_pass(user->first, user->second));
        std::uint8_t status[2];
        if (!read_exact(s, status) || status[1] != 0x00) return result;
    }
    Bytes request{0x05, 0x01, 0x00};
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        request.push_back(0x01);
        auto* b = reinterpret_cast<const std::uint8_t*>(&v4);
        request.insert(request.end(), b, b + 4);
    } else {
        request.push_back(0x03);
        request.push_back(static_cast<std::uint8_t>(host.size()));
        request.insert(request.end(), host.begin(), host.end());
    }
    request.push_back(static_cast<std::uint8_t>(port >> 8));
    request.push_back(static_cast<std::uint8_t>(port & 0xFF));
    write_all(s, request);
    std::uint8_t head[4];
    if (!read_exact(s, head)) return result;
    std::size_t rest = head[3] == 0x04 ? 16 + 2 : head[3] == 0x03 ? 0 : 4 + 2;
    if (head[3] == 0x03) {
        std::uint8_t length;
        if (!read_exact(s, std::span(&length, 1))) return result;
        rest = length + 2u;
    }
    Bytes bound(rest);
    if (!read_exact(s, bound)) return result;
    result.reply = head[1];
    return result;
}

UntilClose read_until_close(const Fd& socket) {
    UntilClose answer;
    std::uint8_t buffer[4096];
    try {
        while (std::size_t n = read_some(socket, buffer))
            answer.bytes.insert(answer.bytes.end(), buffer, buffer + n);
        answer.closed = true;
    } catch (const std::system_error& error) {
        answer.closed = error.code().value() == ECONNRESET;
        answer.error = error.what();
    }
    return answer;
}

std::string read_to_end(const Fd& socket) {
    std::string text;
    std::uint8_t buffer[65536];
    while (std::size_t n = read_some(socket, buffer))
        text.append(reinterpret_cast<char*>(buffer), n);
    return text;
}

RelayEnds relay_ends(std::chrono::milliseconds timeout) {
    RelayEnds ends;
    Fd listener = listen_tcp({"127.0.0.1", 0});
    Endpoint at{"127.0.0.1", local_address(listener).port()};
    ends.client_app = connect_client(at, timeout);
    ends.client_end = Fd(::accept(listener.get(), nullptr, nullptr));
    ends.target_end = connect_client(at, timeout);
    ends.target_app = Fd(::accept(listener.get(), nullptr, nullptr));
    set_receive_timeout(ends.target_app, timeout);
    return ends;
}

}  // namespace socks::test
