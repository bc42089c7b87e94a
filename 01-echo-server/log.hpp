// One line per event on stderr, written with a single write(2) so lines from
// different connection threads never interleave.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace socks {

enum class LogLevel { Debug, Info, Warn, Error };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log(LogLevel level, std::string_view message);
inline void log_debug(std::string_view message) {
    log(LogLevel::Debug, message);
}
inline void log_info(std::string_view message) {
    log(LogLevel::Info, message);
}
inline void log_warn(std::string_view message) {
    log(LogLevel::Warn, message);
}
inline void log_error(std::string_view message) {
    log(LogLevel::Error, message);
}

// A line of a format that carries its own time and level (a JSON object, say),
// written as it is, whole, if `level` is enabled; log_timestamp() is the time
// as log() writes it ("2026-12-03T16:38:29.802Z").
void log_line(LogLevel level, std::string_view line);
std::string log_timestamp();

// A filter for this thread's INFO lines: when it returns true, the line is
// not written (the filter has taken it). For a caller that reports what the
// code it calls would log in a line of its own; nullptr: none.
using LineFilter = std::function<bool(std::string_view message)>;
void set_thread_line_filter(const LineFilter* filter);

// Text a client chose (a domain name, a user name), made safe to log: bytes
// outside printable ASCII, spaces, quotes, backslashes and '=' become \xNN, so
// a client cannot forge log lines or fields, or break the key=value format.
std::string printable(std::string_view text);

// "0.042s": how long a session lasted, for close lines.
std::string format_seconds(std::chrono::steady_clock::duration elapsed);

}  // namespace socks
