// --log-format json: the access line as one JSON object per line, for log
// shippers that read JSON (Fluent Bit, Vector, Loki, jq ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace socks {

// `text` as a JSON string, quotes included: '"', '\' and every byte below 0x20
// escaped (\n, \t, \u0001 ...), so no client-chosen text can end the string
// or the line. Bytes from 0x80 up are copied; the access line's client-chosen
// fields are printable() ASCII before they get here.
std::string json_string(std::string_view text);

// Builds {"key":value,...} in the order the fields are added.
class JsonObject {
  public:
    JsonObject& add(std::string_view key, std::string_view value);
    JsonObject& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    JsonObject& add(std::string_view key, std::uint64_t value);
    JsonObject& add(std::string_view key, double value);
    JsonObject& add_null(std::string_view key);
    std::string str() const { return text_ + "}"; }

  private:
    void key(std::string_view name);
    std::string text_ = "{";
};

}  // namespace socks
