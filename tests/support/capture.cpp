#include "capture.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process.hpp"
#include "target.hpp"

namespace socks::test {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads the byte tokens of one C>/S> line into `step`.
void parse_bytes(std::string_view text, CaptureStep& step) {
    std::size_t i = 0;
    auto fail = [&](const std::string& why) {
        throw std::invalid_argument(why + " at column " + std::to_string(i + 1));
    };
    while (i < text.size()) {
        char c = text[i];
        if (c == ' ' || c == '\t') {
            ++i;
        } else if (c == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                char ch = text[i];
                if (ch == '\\' && i + 1 < text.size()) {
                    char e = text[++i];
                    ch = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == '0' ? '\0' : e;
                }
                step.bytes.push_back(static_cast<std::uint8_t>(ch));
                step.chosen.push_back(false);
            }
            if (i >= text.size()) fail("unterminated string");
            ++i;
        } else if (text.substr(i).starts_with("{target-port}")) {
            step.target_port_at = step.bytes.size();
            step.bytes.insert(step.bytes.end(), {0, 0});
            step.chosen.insert(step.chosen.end(), {false, false});
            i += std::string_view("{target-port}").size();
        } else if (c == '.' && i + 1 < text.size() && text[i + 1] == '.') {
            step.bytes.push_back(0);
            step.chosen.push_back(true);
            i += 2;
        } else if (i + 1 < text.size() && hex_digit(c) >= 0 && hex_digit(text[i + 1]) >= 0) {
            step.bytes.push_back(
                static_cast<std::uint8_t>(hex_digit(c) * 16 + hex_digit(text[i + 1])));
            step.chosen.push_back(false);
            i += 2;
        } else {
            fail("expected two hex digits, '..' or a \"string\"");
        }
    }
}

// The layout of the server's messages, so a mismatch can name its field.
std::string field_name(const std::string& message, const Bytes& expected, std::size_t offset) {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> fixed = {
        {"method-selection", {"VER", "METHOD"}},
        {"auth-status", {"VER", "STATUS"}},
        {"socks4-reply", {"VN", "CD", "DSTPORT", "DSTPORT", "DSTIP", "DSTIP", "DSTIP", "DSTIP"}},
    };
    for (const auto& [name, fields] : fixed) {
        if (name == message && offset < fields.size()) return fields[offset];
    }
    if (message == "reply" || message == "bind-reply") {
        static const char* head[] = {"VER", "REP", "RSV", "ATYP"};
        if (offset < 4) return head[offset];
        if (offset + 2 >= expected.size()) return "BND.PORT";
        return "BND.ADDR";
    }
    return "data";
}

std::string printable(ByteView bytes) {
    std::string text;
    for (std::uint8_t b : bytes) {
        text += (b >= 0x20 && b < 0x7f) ? static_cast<char>(b) : '.';
    }
    return text;
}

// printf-ready escapes, for the reproduce command in failure messages.
std::string printf_escaped(ByteView bytes) {
    std::string text;
    char buffer[8];
    for (std::uint8_t b : bytes) {
        std::snprintf(buffer, sizeof buffer, "\\x%02x", b);
        text += buffer;
    }
    return text;
}

std::string describe(const CaptureStep& step) {
    switch (step.kind) {
        case CaptureStep::Kind::ClientShutdown:
            return "C> (shutdown)";
        case CaptureStep::Kind::ServerCloses:
            return step.fin_only ? "S> (fin)" : "S> (close)";
        default:
            break;
    }
    std::string text = step.kind == CaptureStep::Kind::ClientSends ? "C> " : "S> ";
    if (!step.name.empty()) text += step.name + ": ";
    for (std::size_t i = 0; i < step.bytes.size(); ++i) {
        char b[4];
        std::snprintf(b, sizeof b, "%02x", step.bytes[i]);
        text += (step.chosen[i] ? std::string("..") : std::string(b)) + " ";
    }
    return text;
}

class Replayer {
  public:
    // `server_port`: where the server listens, for the failure's reproduce line
    // (0: a handler on a socket pair, so the reader's own program stands in).
    Replayer(const Capture& capture, Split split, std::uint16_t target_port,
             std::uint16_t server_port = 0)
        : capture_(capture), split_(split), server_port_(server_port) {
        for (CaptureStep& step : capture_.steps) {
            if (step.target_port_at) {
                step.bytes[*step.target_port_at] = static_cast<std::uint8_t>(target_port >> 8);
                step.bytes[*step.target_port_at + 1] = static_cast<std::uint8_t>(target_port);
            }
        }
    }

    testing::AssertionResult run(const Fd& client) {
        try {
            return play(client);
        } catch (const std::exception& error) {
            return fail(std::string("socket error: ") + error.what());
        }
    }

  private:
    testing::AssertionResult play(const Fd& client) {
        if (split_ == Split::Coalesced) {
            Bytes all;
            for (const CaptureStep& step : capture_.steps) {
                if (step.kind == CaptureStep::Kind::ClientSends) {
                    all.insert(all.end(), step.bytes.begin(), step.bytes.end());
                }
            }
            write_all(client, all);
        }
        for (const CaptureStep& step : capture_.steps) {
            step_ = &step;
            switch (step.kind) {
                case CaptureStep::Kind::ClientSends:
                    if (split_ == Split::ByteByByte) {
                        for (std::uint8_t b : step.bytes)
                            write_all(client, ByteView(&b, 1));
                    } else if (split_ == Split::AsRecorded) {
                        write_all(client, step.bytes);
                    }
                    sent_.insert(sent_.end(), step.bytes.begin(), step.bytes.end());
                    break;
                case CaptureStep::Kind::ClientShutdown:
                    ::shutdown(client.get(), SHUT_WR);
                    break;
                case CaptureStep::Kind::ServerSends: {
                    Bytes actual(step.bytes.size());
                    std::size_t got = 0;
                    std::string error;
                    try {
                        while (got < actual.size()) {
                            std::size_t n = read_some(client, std::span(actual).subspan(got));
                            if (n == 0) break;
                            got += n;
                        }
                    } catch (const std::exception& e) {
                        error = e.what();
                    }
                    actual.resize(got);
                    if (auto mismatch = compare(step, actual, error)) return *mismatch;
                    break;
                }
                case CaptureStep::Kind::ServerCloses: {
                    std::uint8_t extra[256];
                    std::size_t n = 0;
                    try {
                        n = read_some(client, extra);
                    } catch (const std::system_error& e) {
                        // A close with unread bytes in the server's buffer arrives as a
                        // reset, which may destroy the server's last reply in transit.
                        if (e.code().value() == ECONNRESET && !step.fin_only) break;
                        if (e.code().value() == ECONNRESET) {
                            return fail(
                                "expected the server to close with FIN, but it reset the "
                                "connection (it closed with client bytes unread; see "
                                "hang_up in 02-handshake/hang_up.hpp)");
                        }
                        return fail(std::string("expected the server to close, but ") + e.what());
                    }
                    if (n != 0) {
                        return fail("expected the server to close, but it sent more: " +
                                    to_hex(ByteView(extra, n)));
                    }
                    break;
                }
            }
            transcript_ += describe(step) + "\n";
        }
        return testing::AssertionSuccess();
    }

    std::optional<testing::AssertionResult> compare(const CaptureStep& step, const Bytes& actual,
                                                    const std::string& error) {
        for (std::size_t i = 0; i < step.bytes.size(); ++i) {
            if (i >= actual.size()) {
                std::string why = error.empty() ? "the server closed the connection"
                                                : "reading failed (" + error + ")";
                return fail(
                    "byte " + std::to_string(i) + " (" + field_name(step.name, step.bytes, i) +
                    "): " + why + " after " + std::to_string(actual.size()) + " of " +
                    std::to_string(step.bytes.size()) + " bytes; got [" + to_hex(actual) + "]");
            }
            if (!step.chosen[i] && actual[i] != step.bytes[i]) {
                char detail[96];
                std::snprintf(detail, sizeof detail, "expected %02x, got %02x", step.bytes[i],
                              actual[i]);
                return fail("byte " + std::to_string(i) + " (" +
                            field_name(step.name, step.bytes, i) + "): " + detail +
                            "\n  expected: " + describe(step) + "\n  actual:   S> " +
                            to_hex(actual) + "  |" + printable(actual) + "|");
            }
        }
        return std::nullopt;
    }

    testing::AssertionResult fail(const std::string& what) {
        auto result = testing::AssertionFailure();
        result << capture_.file;
        if (step_ != nullptr) {
            result << " line " << step_->line;
            if (!step_->name.empty()) result << " (" << step_->name << ")";
        }
        result << ": " << what << "\n  exchange so far:\n";
        std::istringstream lines(transcript_);
        for (std::string line; std::getline(lines, line);)
            result << "    " << line << "\n";
        if (step_ != nullptr) result << "  >> " << describe(*step_) << "\n";
        result << "  reproduce: printf '" << printf_escaped(sent_) << "' | nc -N 127.0.0.1 "
               << (server_port_ != 0 ? std::to_string(server_port_) : std::string("1080"))
               << " | xxd";
        if (server_port_ == 0) {
            result << "   (against the chapter's program on 127.0.0.1:1080; the test ran the "
                      "handler on a socket pair)";
        }
        if (split_ == Split::ByteByByte) result << "   (the test sent one byte per write)";
        return result;
    }

    Capture capture_;  // a copy, with {target-port} filled in
    Split split_;
    std::uint16_t server_port_;
    const CaptureStep* step_ = nullptr;
    std::string transcript_;
    Bytes sent_;
};

}  // namespace

Capture parse_capture(const std::string& text, const std::string& file) {
    Capture capture;
    capture.file = file;
    std::istringstream lines(text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        std::string_view rest(line);
        while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r'))
            rest.remove_suffix(1);
        if (rest.empty()) continue;
        if (rest.starts_with('#')) {
            capture.comments.emplace_back(rest.substr(1));
            continue;
        }
        CaptureStep step{};
        step.line = number;
        bool client = rest.starts_with("C>");
        if (!client && !rest.starts_with("S>")) {
            throw std::invalid_argument(file + ":" + std::to_string(number) +
                                        ": a line starts with C>, S> or #");
        }
        rest.remove_prefix(2);
        while (rest.starts_with(' '))
            rest.remove_prefix(1);
        if (rest == "(shutdown)" || rest == "(close)" || (!client && rest == "(fin)")) {
            step.kind =
                client ? CaptureStep::Kind::ClientShutdown : CaptureStep::Kind::ServerCloses;
            step.fin_only = rest == "(fin)";
            capture.steps.push_back(step);
            continue;
        }
        step.kind = client ? CaptureStep::Kind::ClientSends : CaptureStep::Kind::ServerSends;
        // An optional "name:" before the bytes names the message.
        if (auto colon = rest.find(':');
            colon != std::string_view::npos &&
            rest.substr(0, colon).find_first_of(" \"") == std::string_view::npos) {
            step.name = std::string(rest.substr(0, colon));
            rest.remove_prefix(colon + 1);
        }
        try {
            parse_bytes(rest, step);
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(file + ":" + std::to_string(number) + ": " + error.what());
        }
        if (client && std::count(step.chosen.begin(), step.chosen.end(), true) > 0) {
            throw std::invalid_argument(file + ":" + std::to_string(number) +
                                        ": '..' is only for server bytes");
        }
        capture.steps.push_back(std::move(step));
    }
    return capture;
}

Capture load_capture(const std::string& name) {
    std::ifstream in(std::string(SOCKS_CAPTURES_DIR) + "/" + name);
    if (!in) throw std::runtime_error("cannot open capture " + name);
    std::stringstream text;
    text << in.rdbuf();
    return parse_capture(text.str(), name);
}

std::vector<std::string> list_captures(const std::string& prefix) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(SOCKS_CAPTURES_DIR);
    if (dir == nullptr) return names;
    while (dirent* entry = ::readdir(dir)) {
        std::string name = entry->d_name;
        if (name.ends_with(".txt") && name.starts_with(prefix)) names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

bool uses_target_port(const Capture& capture) {
    for (const CaptureStep& step : capture.steps) {
        if (step.target_port_at) return true;
    }
    return false;
}

testing::AssertionResult replay(const Capture& capture, const ConnectionHandler& handler,
                                Split split, std::uint16_t target_port) {
    Fd listener = listen_tcp({"127.0.0.1", 0});
    auto address = local_address(listener);
    Fd client = connect_client({"127.0.0.1", address.port()});
    Fd server_end(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!server_end) throw_errno("accept");
    SocketAddress peer = peer_address(server_end);
    std::thread server_thread([&] {
        try {
            handler(server_end, peer);
        } catch (const std::exception&) {
            // The server's own loop logs and closes; the replay judges the bytes.
        }
        server_end = Fd();  // close, as the server loop does after the handler
    });
    auto result = Replayer(capture, split, target_port).run(client);
    // Release a handler still waiting for bytes, then wait for it.
    ::shutdown(client.get(), SHUT_RDWR);
    server_thread.join();
    return result;
}

testing::AssertionResult replay(const Capture& capture, const Endpoint& server, Split split,
                                std::uint16_t target_port) {
    Fd client = connect_client(server);
    return Replayer(capture, split, target_port, server.port).run(client);
}

testing::AssertionResult replay_repeatedly(const Capture& capture, const Endpoint& server, int runs,
                                           std::uint16_t target_port) {
    for (int run = 1; run <= runs; ++run) {
        auto result = replay(capture, server, Split::Coalesced, target_port);
        if (!result) {
            return testing::AssertionFailure()
                   << "run " << run << " of " << runs << ": " << result.message();
        }
    }
    return testing::AssertionSuccess();
}

Bytes hex(std::string_view text) {
    CaptureStep step{};
    parse_bytes(text, step);
    return step.bytes;
}

std::string to_hex(ByteView bytes) {
    std::string text;
    char b[4];
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::snprintf(b, sizeof b, i == 0 ? "%02x" : " %02x", bytes[i]);
        text += b;
    }
    return text;
}

std::vector<std::string> server_flags(const Capture& capture) {
    for (const std::string& comment : capture.comments) {
        std::istringstream words(comment);
        std::string word;
        words >> word;
        if (word != "server:") continue;
        words >> word;  // the program
        std::vector<std::string> flags;
        while (words >> word)
            flags.push_back(word);
        return flags;
    }
    ADD_FAILURE() << capture.file << " has no '# server:' line";
    return {};
}

std::uint16_t target_port_for(const std::string& capture_name, std::uint16_t ipv4_port,
                              std::uint16_t ipv6_port) {
    if (capture_name.find("closed-port") != std::string::npos) return closed_port();
    return capture_name.find("ipv6") != std::string::npos ? ipv6_port : ipv4_port;
}

std::vector<std::pair<std::string, std::string>> request_refusals() {
    const char* const http = "C> data: \"GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n\"\n";
    const char* const login =
        "C> greeting: 05 01 02\nC> auth: 01 05 \"alice\" 06 \"secret\"\n"
        "S> method-selection: 05 02\nS> auth-status: 01 00\n";
    return {
        {"only NO AUTHENTICATION offered",
         "C> greeting: 05 01 00\nC> request: 05 01 00 01 7f 00 00 01 {target-port}\n"
         "S> method-selection: 05 ff\nS> (fin)"},
        {"wrong password",
         "C> greeting: 05 01 02\nC> auth: 01 05 \"alice\" 05 \"wrong\"\n"
         "C> request: 05 01 00 01 7f 00 00 01 {target-port}\n"
         "S> method-selection: 05 02\nS> auth-status: 01 01\nS> (fin)"},
        {"CONNECT to a closed port",
         std::string(login) + "C> request: 05 01 00 01 7f 00 00 01 {target-port}\n" + http +
             "S> reply: 05 05 00 01 00 00 00 00 00 00\nS> (fin)"},
        {"BIND (not supported here)",
         std::string(login) + "C> request: 05 02 00 01 7f 00 00 01 {target-port}\n" + http +
             "S> reply: 05 07 00 01 00 00 00 00 00 00\nS> (fin)"},
        {"unknown ATYP 05, decided after 4 of its bytes",
         std::string(login) + "C> request: 05 01 00 05 7f 00 00 01 {target-port}\n" + http +
             "S> reply: 05 08 00 01 00 00 00 00 00 00\nS> (fin)"},
    };
}

}  // namespace socks::test
