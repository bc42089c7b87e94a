#include "handshake_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

namespace socks::test {

std::string split_name(Split split) {
    switch (split) {
        case Split::AsRecorded:
            return "AsRecorded";
        case Split::ByteByByte:
            return "ByteByByte";
        case Split::Coalesced:
            return "Coalesced";
    }
    return "?";
}

void PrintTo(Split split, std::ostream* out) {
    *out << split_name(split);
}

Capture through_step(const Capture& capture, std::string_view last) {
    Capture prefix = capture;
    prefix.steps.clear();
    for (std::size_t i = 0; i < capture.steps.size(); ++i) {
        prefix.steps.push_back(capture.steps[i]);
        if (capture.steps[i].name != last) continue;
        if (i + 1 < capture.steps.size() &&
            capture.steps[i + 1].kind == CaptureStep::Kind::ServerCloses) {
            prefix.steps.push_back(capture.steps[i + 1]);
        }
        return prefix;
    }
    throw std::invalid_argument(capture.file + " has no step named '" + std::string(last) + "'");
}

Bytes step_bytes(const Capture& capture, std::string_view name) {
    for (const CaptureStep& step : capture.steps) {
        if (step.name == name) return step.bytes;
    }
    return {};
}

std::string capture_test_name(const std::string& file) {
    std::string name = file;
    if (auto dash = name.find('-'); dash != std::string::npos) name.erase(0, dash + 1);
    if (name.ends_with(".txt")) name.resize(name.size() - 4);
    for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    return name;
}

ProgramStdout::ProgramStdout(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/fd/1";
    pipe_ = Fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!pipe_) throw_errno(("open " + path).c_str());
}

bool ProgramStdout::read_once(int timeout_ms) {
    pollfd p{pipe_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buffer[4096];
    ssize_t n = ::read(pipe_.get(), buffer, sizeof buffer);
    if (n <= 0) return false;  // the program closed its stdout (or nothing was there)
    text_.append(buffer, static_cast<std::size_t>(n));
    return true;
}

bool ProgramStdout::wait_for(std::string_view needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (text_.find(needle) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !read_once(static_cast<int>(left.count()))) {
            return text_.find(needle) != std::string::npos;
        }
    }
    return true;
}

const std::string& ProgramStdout::text() {
    while (read_once(0)) {
    }
    return text_;
}

}  // namespace socks::test
