#include "fields.hpp"

#include <algorithm>
#include <cstdio>

#include "handshake.hpp"
#include "log.hpp"

namespace socks {

std::vector<Field> describe_handshake(std::string_view name, ByteView b) {
    std::vector<Field> f;
    if (name == "greeting") {
        f.push_back({0, 1, "VER", std::to_string(b[0])});
        f.push_back({1, 1, "NMETHODS", std::to_string(b[1])});
        std::string methods;
        for (std::size_t i = 2; i < b.size(); ++i) {
            methods += (i > 2 ? ", " : "") + method_name(b[i]);
        }
        f.push_back({2, b.size() - 2, "METHODS", methods});
    } else if (name == "method-selection") {
        f.push_back({0, 1, "VER", std::to_string(b[0])});
        f.push_back({1, 1, "METHOD", method_name(b[1])});
    }
    return f;
}

std::string format_fields(const std::string& peer, bool from_client, std::string_view name,
                          ByteView bytes, const std::vector<Field>& fields) {
    std::string out = peer + (from_client ? " C> " : " S> ") + std::string(name) + " (" +
                      std::to_string(bytes.size()) + " bytes)\n";
    for (const Field& field : fields) {
        std::string hex;
        char cell[4];
        std::size_t shown = std::min<std::size_t>(field.size, 8);
        for (std::size_t i = 0; i < shown; ++i) {
            std::snprintf(cell, sizeof cell, "%02x ", bytes[field.offset + i]);
            hex += cell;
        }
        if (field.size > shown) hex += "...";
        if (field.size == 0 && field.name == "PASSWD") hex = "** ";
        // The meaning has no length limit (a 255-byte name escapes to 1 KiB):
        // only the two columns before it are formatted into a fixed buffer.
        char columns[64];
        std::snprintf(columns, sizeof columns, "    %-27s %-10s ", hex.c_str(), field.name.c_str());
        out += columns + field.meaning + "\n";
    }
    return out;
}

std::string quoted(ByteView bytes, std::size_t offset, std::size_t size) {
    return "\"" +
           printable(std::string(reinterpret_cast<const char*>(bytes.data() + offset), size)) +
           "\"";
}

std::string port_at(ByteView bytes, std::size_t offset) {
    return std::to_string(bytes[offset] << 8 | bytes[offset + 1]);
}

Tracer::Tracer(std::string peer, Describe describe)
    : peer_(std::move(peer)),
      describe_(describe),
      observer_([this](bool from_client, const char* name, ByteView bytes) {
          std::string text = format_fields(peer_, from_client, name, bytes, describe_(name, bytes));
          text.pop_back();  // log() ends the line itself
          log_info("trace " + text);
      }) {
    set_message_observer(&observer_);
}

Tracer::~Tracer() {
    set_message_observer(nullptr);
}

void add_trace_option(CommandLine& cli, bool& trace) {
    cli.add_flag("--trace",
                 "print every SOCKS message as annotated hex on stderr (passwords hidden)",
                 [&trace] { trace = true; });
}

}  // namespace socks
