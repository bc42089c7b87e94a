// --trace: every SOCKS message a session reads or sends, as annotated hex,
// field by field: the book's box diagrams, live. read_message() and
// send_message() report each whole message to this thread's observer
// (message.hpp); a Tracer is such an observer that writes a "trace" log line.
//
// Each chapter describes its own messages and hands every other name to the
// chapter before it: describe_request (04) -> describe_auth (03) ->
// describe_handshake (here). A name no chapter knows is shown without fields.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "message.hpp"
#include "net.hpp"

namespace socks {

struct Field {
    std::size_t offset, size;
    std::string name;     // "VER", "NMETHODS", ...
    std::string meaning;  // "5", "NO AUTHENTICATION REQUIRED", ...
};
// The fields of a whole, valid message (what a parser accepted or a
// serializer wrote), by the name it was read or sent as.
using Describe = std::vector<Field> (*)(std::string_view name, ByteView bytes);

// "greeting" and "method-selection"; no fields for any other name.
std::vector<Field> describe_handshake(std::string_view name, ByteView bytes);

// "127.0.0.1:5555 C> greeting (3 bytes)" then one line per field:
// "    05                          VER        5". Long fields show their first
// 8 bytes and "...".
std::string format_fields(const std::string& peer, bool from_client, std::string_view name,
                          ByteView bytes, const std::vector<Field>& fields);

// For describers: the client's text, quoted and escaped for the log; a port.
std::string quoted(ByteView bytes, std::size_t offset, std::size_t size);
std::string port_at(ByteView bytes, std::size_t offset);

// While it lives, every message this thread reads or sends is logged as
// "trace PEER C> NAME (N bytes)" and its fields (an INFO line).
class Tracer {
  public:
    Tracer(std::string peer, Describe describe);
    ~Tracer();
    Tracer(const Tracer&) = delete;
    Tracer& operator=(const Tracer&) = delete;

  private:
    std::string peer_;
    Describe describe_;
    MessageObserver observer_;
};

// --trace for a chapter program: sets `trace`.
void add_trace_option(CommandLine& cli, bool& trace);

}  // namespace socks
