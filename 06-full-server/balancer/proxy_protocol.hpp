// The PROXY protocol (HAProxy's "send-proxy" and "send-proxy-v2"): a load
// balancer that accepts a client and connects to us sends one header first,
// naming the client's address, so the server can see who it really serves.
// Only a balancer we trust may send it (--proxy-protocol-from): anyone else
// could name any address they like.
//
// Specification: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
#pragma once

#include <cstddef>
#include <optional>

#include "message.hpp"
#include "net.hpp"

namespace socks {

struct ProxyHeader {
    int version = 0;  // 1 (text) or 2 (binary)
    // The client and the address it connected to, as the balancer saw them.
    // Empty for v1 "UNKNOWN" and v2 LOCAL or UNSPEC: the balancer's own
    // connection (a health check), whose real peer is the connection's own.
    std::optional<SocketAddress> source;
    std::optional<SocketAddress> destination;
};

// Version 1 is one text line: "PROXY TCP4 SRC DST SPORT DPORT\r\n" (or TCP6,
// or "PROXY UNKNOWN ...\r\n"), at most 107 bytes with its CRLF.
inline constexpr std::size_t kProxyV1MaxLength = 107;
// Version 2 is binary:
// +--------------------------------------+---------+-----+---------+---------+
// | 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A  | ver/cmd | fam |   len   | address |
// +--------------------------------------+---------+-----+---------+---------+
//          12 bytes (the signature)           1       1   2 (BE)   len bytes
// ver/cmd: 0x20 LOCAL, 0x21 PROXY. fam: 0x11 TCP over IPv4 (12 address
// bytes: src, dst, sport, dport), 0x21 TCP over IPv6 (36), 0x00 UNSPEC.
// Extensions (TLVs) may follow the addresses inside `len`; they are skipped.
// We accept at most this many bytes after the fixed 16: a real balancer's
// header is far smaller, and a peer must not make us read without bound.
inline constexpr std::size_t kProxyV2MaxLength = 1024;

// A pure parser like every other here (message.hpp): it asks for exactly the
// bytes it needs, so the SOCKS greeting behind the header stays in the socket.
Parsed<ProxyHeader> parse_proxy_header(ByteView bytes);

// True when `bytes` (at least 5 of them) begin like a PROXY header of either
// version: what an untrusted client that sends one is told apart by.
bool starts_like_proxy_header(ByteView bytes);

}  // namespace socks
