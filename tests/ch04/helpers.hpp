// Chapter 04's test helpers: requests built from their fields, the chapter's
// handler as its program runs it, and reading a server's answer up to its close.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "auth.hpp"
#include "capture.hpp"
#include "client.hpp"
#include "net.hpp"
#include "server.hpp"

namespace socks::test {

inline const char* const kRequestProgram = "04-request/socks5-request";

// 05 CMD 00 ATYP DST.ADDR DST.PORT for the three address types.
Bytes ipv4_request(std::uint16_t port, std::uint8_t command = 0x01);
Bytes ipv6_loopback_request(std::uint16_t port, std::uint8_t command = 0x01);
Bytes domain_request(const std::string& name, std::uint16_t port, std::uint8_t command = 0x01);

// The accounts named by --user flags (test::server_flags gives a capture's).
Users users_from_flags(const std::vector<std::string>& flags);

// What socks5-request's main runs for each connection: handshake, request, hang up.
ConnectionHandler chapter04_handler(const Users& users);

// Everything the server sends until it closes (test::read_until_close). `closed`
// is false when the receive timeout fired first (the server hung); a reset
// after the bytes counts as a close (a close with unread client bytes is sent as RST).
using Answer = UntilClose;

// Greets without authentication (05 01 00, expects 05 00), sends `request`,
// and returns the server's answer up to its close.
Answer request_answer(const Endpoint& server, const Bytes& request);

}  // namespace socks::test
