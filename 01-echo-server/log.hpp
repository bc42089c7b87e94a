// One line per event on stderr, written with a single write(2) so lines from
// different connection threads never interleave.
#pragma once

#include <chrono>
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

// While it lives, this thread's INFO lines that begin with `prefix` are held
// back instead of written, and the last one is kept (without the prefix) for
// the caller to report in a line of its own. Chapter 06 folds the earlier
// chapters' "PEER: why" lines into its one access line per session, of which
// a client gets a limited number a minute; otherwise a client could make the
// server write a line per wrong password for as long as it likes.
class HeldLines {
  public:
    explicit HeldLines(std::string prefix);
    ~HeldLines();
    HeldLines(const HeldLines&) = delete;
    HeldLines& operator=(const HeldLines&) = delete;
    bool holds(std::string_view message);  // log() calls it: true when held back
    const std::string& last() const { return last_; }

  private:
    std::string prefix_;
    std::string last_;
    HeldLines* outer_;
};

// Text a client chose (a domain name, a user name), made safe to log: bytes
// outside printable ASCII, spaces, quotes, backslashes and '=' become \xNN, so
// a client cannot forge log lines or fields, or break the key=value format.
std::string printable(std::string_view text);

// "0.042s": how long a session lasted, for close lines.
std::string format_seconds(std::chrono::steady_clock::duration elapsed);

}  // namespace socks
