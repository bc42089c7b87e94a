#include "json.hpp"

#include <cstdio>

namespace socks {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void JsonObject::key(std::string_view name) {
    if (text_.size() > 1) text_ += ',';
    text_ += json_string(name);
    text_ += ':';
}

JsonObject& JsonObject::add(std::string_view name, std::string_view value) {
    key(name);
    text_ += json_string(value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view name, std::uint64_t value) {
    key(name);
    text_ += std::to_string(value);
    return *this;
}

JsonObject& JsonObject::add(std::string_view name, double value) {
    key(name);
    char number[32];
    std::snprintf(number, sizeof number, "%.3f", value);
    text_ += number;
    return *this;
}

JsonObject& JsonObject::add_null(std::string_view name) {
    key(name);
    text_ += "null";
    return *this;
}

}  // namespace socks
