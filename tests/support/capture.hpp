// Captured byte sequences (tests/captures/*.txt) and their replay.
//
// Format, one message per line:
//   # comments: the client, its version, the exact command
//   C> greeting: 05 02 00 01          client -> server ("greeting" is the message's name)
//   S> method-selection: 05 00        server -> client, compared byte for byte
//   S> reply: 05 00 00 01 .. .. .. .. .. ..   ".." = a byte the server chooses (shape only)
//   C> data: "GET / HTTP/1.1\r\n"     quoted text may stand for bytes
//   C> request: 05 01 00 01 7f 00 00 01 {target-port}   the port of the test's own target
//   C> (shutdown)                     the client shuts down its write side
//   S> (close)                        the server closes the connection (FIN, or a reset)
//   S> (fin)                          the server closes with FIN, never a reset, so
//                                     every byte it sent is sure to arrive
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net.hpp"
#include "server.hpp"

namespace socks::test {

struct CaptureStep {
    enum class Kind { ClientSends, ServerSends, ClientShutdown, ServerCloses };
    Kind kind;
    std::string name;                           // "greeting", "reply", ...
    Bytes bytes;                                // for Sends
    std::vector<bool> chosen;                   // per byte: true where the server picks the value
    bool fin_only = false;                      // ServerCloses: "(fin)", a reset fails
    std::optional<std::size_t> target_port_at;  // where {target-port} stands in `bytes`
    int line = 0;
};

struct Capture {
    std::string file;  // name inside tests/captures/
    std::vector<std::string> comments;
    std::vector<CaptureStep> steps;
};

// Loads tests/captures/<name>; throws with the line number on a syntax error.
Capture load_capture(const std::string& name);
// Parses capture text (the same format), for captures written inside a test.
Capture parse_capture(const std::string& text, const std::string& file = "(inline)");
// Lists the capture files whose name starts with `prefix`.
std::vector<std::string> list_captures(const std::string& prefix = "");

// The flags after the program on the capture's "# server:" line, e.g. {"--user",
// "u:p"} for "# server: 04-request/socks5-request --user u:p". A capture
// without that line is a test failure (and gives no flags).
std::vector<std::string> server_flags(const Capture& capture);

// The target port to replay a capture against: a fresh closed port for the
// "closed-port" captures, `ipv6_port` for the "ipv6" ones, else `ipv4_port`
// (echo targets on 127.0.0.1 and [::1]).
std::uint16_t target_port_for(const std::string& capture_name, std::uint16_t ipv4_port,
                              std::uint16_t ipv6_port);

// How the client side writes its bytes.
enum class Split {
    AsRecorded,  // one write per C> line, as the real client did
    ByteByByte,  // one write per byte: the server must reassemble every message
    Coalesced,   // all client bytes in one write before reading anything (pipelining)
};

// Plays the client side of `capture` against `handler` running in its own
// thread on the server end of a real connected loopback TCP pair, and checks
// every server byte. The failure message names the capture line, the message,
// the field and byte offset, expected and actual bytes, and the exchange so far.
// `target_port` replaces {target-port} in the client's bytes.
testing::AssertionResult replay(const Capture& capture, const ConnectionHandler& handler,
                                Split split = Split::AsRecorded, std::uint16_t target_port = 0);
// The same against a running server (for example a chapter's program).
testing::AssertionResult replay(const Capture& capture, const Endpoint& server,
                                Split split = Split::AsRecorded, std::uint16_t target_port = 0);
// Replays `capture` against `server` `runs` times, each on a new connection
// with every client byte in one write (Split::Coalesced: the bytes behind a
// refused message are already there when the server refuses). Fails with the
// first run that differs, and says which run it was.
testing::AssertionResult replay_repeatedly(const Capture& capture, const Endpoint& server, int runs,
                                           std::uint16_t target_port = 0);
// The refusals a chapter 04 or 05 program started with --user alice:secret sends
// (FF, a wrong password, a closed port, BIND, an unknown ATYP), each with the
// client's next bytes (curl's HTTP request, the rest of a request) queued behind
// the refused message, ending in the reply and FIN: (what, capture text).
std::vector<std::pair<std::string, std::string>> request_refusals();
// Whether the capture needs a target_port.
bool uses_target_port(const Capture& capture);

// "05 01 00" / "\x05\x01\x00" helpers for readable tests.
Bytes hex(std::string_view text);
std::string to_hex(ByteView bytes);

}  // namespace socks::test
