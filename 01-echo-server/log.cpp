#include "log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

namespace socks {

namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};
thread_local const LineFilter* t_filter = nullptr;

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::Debug:
            return "DEBUG";
        case LogLevel::Info:
            return "INFO";
        case LogLevel::Warn:
            return "WARN";
        case LogLevel::Error:
            return "ERROR";
    }
    return "?";
}
}  // namespace

void set_log_level(LogLevel level) {
    g_level = level;
}

bool log_enabled(LogLevel level) {
    return level >= g_level.load();
}

void set_thread_line_filter(const LineFilter* filter) {
    t_filter = filter;
}

std::string log_timestamp() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    tm utc{};
    ::gmtime_r(&now.tv_sec, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  now.tv_nsec / 1000000);
    return stamp;
}

void log_line(LogLevel level, std::string_view text) {
    if (!log_enabled(level)) return;
    std::string line(text);
    line += '\n';
    // One write per line: the kernel keeps each line whole even across threads.
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

void log(LogLevel level, std::string_view message) {
    if (!log_enabled(level)) return;
    if (level == LogLevel::Info && t_filter != nullptr && (*t_filter)(message)) return;
    std::string line = log_timestamp() + " " + level_name(level) + " ";
    line.append(message);
    log_line(level, line);
}

std::string printable(std::string_view text) {
    std::string out;
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte > 0x20 && byte < 0x7f && c != '"' && c != '\\' && c != '=') {
            out += c;
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        }
    }
    return out;
}

std::string format_seconds(std::chrono::steady_clock::duration elapsed) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3fs", std::chrono::duration<double>(elapsed).count());
    return text;
}

}  // namespace socks
