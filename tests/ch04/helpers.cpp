#include "helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>
#include <system_error>

#include "connect.hpp"
#include "process.hpp"

namespace socks::test {

namespace {
Bytes request_head(std::uint8_t command, std::uint8_t atyp) {
    return {0x05, command, 0x00, atyp};
}
void append_port(Bytes& out, std::uint16_t port) {
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port & 0xFF));
}
}  // namespace

Bytes ipv4_request(std::uint16_t port, std::uint8_t command) {
    Bytes out = request_head(command, 0x01);
    out.insert(out.end(), {0x7f, 0x00, 0x00, 0x01});
    append_port(out, port);
    return out;
}

Bytes ipv6_loopback_request(std::uint16_t port, std::uint8_t command) {
    Bytes out = request_head(command, 0x04);
    out.insert(out.end(), 15, 0x00);
    out.push_back(0x01);
    append_port(out, port);
    return out;
}

Bytes domain_request(const std::string& name, std::uint16_t port, std::uint8_t command) {
    Bytes out = request_head(command, 0x03);
    out.push_back(static_cast<std::uint8_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    append_port(out, port);
    return out;
}

Users users_from_flags(const std::vector<std::string>& flags) {
    Users users;
    for (std::size_t i = 0; i + 1 < flags.size(); ++i) {
        if (flags[i] == "--user") users.add_from_option(flags[i + 1]);
    }
    return users;
}

ConnectionHandler chapter04_handler(const Users& users) {
    return [users](const Fd& client, const SocketAddress& peer) {
        if (handshake(client, peer, users)) serve_request(client, peer);
        hang_up(client);
    };
}

Answer request_answer(const Endpoint& server, const Bytes& request) {
    Fd client = connect_client(server);
    write_all(client, hex("05 01 00"));
    Bytes method(2);
    if (!read_exact(client, method) || method != hex("05 00")) {
        ADD_FAILURE() << "greeting 05 01 00 was not answered with 05 00; got " << to_hex(method);
        return {};
    }
    write_all(client, request);
    return read_until_close(client);
}

}  // namespace socks::test
