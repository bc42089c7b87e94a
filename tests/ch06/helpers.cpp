#include "helpers.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "echo.hpp"

namespace socks::ch06 {

std::string show(const CommandResult& result) {
    return "exit " + std::to_string(result.exit_code) + (result.timed_out ? " (timed out)" : "") +
           "\nstdout: " + result.out.substr(0, 2000) + "\nstderr: " + result.err;
}

testing::AssertionResult installed(const std::string& tool) {
    if (test::have_program(tool)) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << tool << " is required for this test (see .ci/run for the Debian packages)";
}

CommandResult curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"env",        "-u",   "ALL_PROXY", "-u",  "all_proxy",  "-u",
                                  "NO_PROXY",   "-u",   "no_proxy",  "-u",  "HTTP_PROXY", "-u",
                                  "http_proxy", "curl", "-q",        "-sS", "--max-time", "15"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, {}, 25s);
}

CommandResult pysocks(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  std::string(SOCKS_SOURCE_DIR) + "/tools/pysocks-client"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, {}, 25s);
}

CommandResult ncat(const std::vector<std::string>& args, std::string_view input) {
    std::vector<std::string> argv{"ncat", "--wait", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, input, 25s);
}

std::size_t http_response_size(const std::string& content_type, const std::string& body) {
    std::string head = "HTTP/1.0 200 OK\r\nContent-Type: " + content_type +
                       "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    return head.size() + body.size();
}

std::string Access::operator[](const std::string& key) const {
    auto found = fields.find(key);
    return found == fields.end() ? "(missing)" : found->second;
}

std::vector<Access> access_lines(const std::string& log) {
    std::vector<Access> lines;
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos) break;  // only whole lines
        std::string line = log.substr(start, end - start);
        start = end + 1;
        auto at = line.find(" access client=");
        if (at == std::string::npos) continue;
        Access access;
        access.line = line;
        std::string rest = line.substr(at + 8);  // "client=..."
        std::size_t i = 0;
        while (i < rest.size()) {
            while (i < rest.size() && rest[i] == ' ')
                ++i;
            auto eq = rest.find('=', i);
            if (eq == std::string::npos) break;
            std::string key = rest.substr(i, eq - i);
            std::string value;
            if (eq + 1 < rest.size() && rest[eq + 1] == '"') {
                auto close = rest.rfind('"');  // the note is last and may hold quotes
                value = rest.substr(eq + 2, close > eq + 1 ? close - eq - 2 : std::string::npos);
                i = close == std::string::npos ? rest.size() : close + 1;
            } else {
                auto space = rest.find(' ', eq);
                value = rest.substr(
                    eq + 1, space == std::string::npos ? std::string::npos : space - eq - 1);
                i = space == std::string::npos ? rest.size() : space;
            }
            access.fields[key] = value;
        }
        lines.push_back(std::move(access));
    }
    return lines;
}

std::vector<Access> wait_for_access(const ServerProcess& server, std::size_t count,
                                    std::chrono::milliseconds timeout) {
    if (!server.wait_for_log(" access client=", timeout, static_cast<int>(count))) {
        ADD_FAILURE() << "expected " << count << " access lines; log:\n" << server.log();
    }
    // The line is written with one write(2); wait for its end too.
    std::vector<Access> lines = access_lines(server.log());
    if (lines.size() < count) {
        server.wait_for_log("\n", 1s, 1);
        lines = access_lines(server.log());
    }
    return lines;
}

Access access(const ServerProcess& server, std::size_t count) {
    auto lines = wait_for_access(server, count);
    if (lines.size() < count) return {};
    return lines[count - 1];
}

testing::AssertionResult has_fields(const Access& line,
                                    const std::map<std::string, std::string>& expected) {
    for (const auto& [key, value] : expected) {
        if (line[key] != value) {
            return testing::AssertionFailure() << key << "=" << line[key] << ", expected " << key
                                               << "=" << value << "\n  in: " << line.line;
        }
    }
    return testing::AssertionSuccess() << line.line;
}

namespace {
void append_port(Bytes& out, std::uint16_t port) {
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port & 0xFF));
}
}  // namespace

Bytes socks5_request_ip(const std::string& ip, std::uint16_t port, std::uint8_t command) {
    Bytes out{0x05, command, 0x00};
    std::uint8_t raw[16];
    if (::inet_pton(AF_INET, ip.c_str(), raw) == 1) {
        out.push_back(0x01);
        out.insert(out.end(), raw, raw + 4);
    } else if (::inet_pton(AF_INET6, ip.c_str(), raw) == 1) {
        out.push_back(0x04);
        out.insert(out.end(), raw, raw + 16);
    } else {
        throw std::invalid_argument("not an IP literal: " + ip);
    }
    append_port(out, port);
    return out;
}

Bytes socks5_request_domain(const std::string& name, std::uint16_t port, std::uint8_t command) {
    Bytes out{0x05, command, 0x00, 0x03, static_cast<std::uint8_t>(name.size())};
    out.insert(out.end(), name.begin(), name.end());
    append_port(out, port);
    return out;
}

Bytes socks4_request(const std::string& ip, std::uint16_t port, const std::string& user_id,
                     const std::optional<std::string>& host, std::uint8_t command) {
    Bytes out{0x04, command};
    append_port(out, port);
    std::uint8_t raw[4];
    if (::inet_pton(AF_INET, ip.c_str(), raw) != 1) throw std::invalid_argument("not IPv4: " + ip);
    out.insert(out.end(), raw, raw + 4);
    out.insert(out.end(), user_id.begin(), user_id.end());
    out.push_back(0x00);
    if (host) {
        out.insert(out.end(), host->begin(), host->end());
        out.push_back(0x00);
    }
    return out;
}

Socks5Result socks5_exchange(const Endpoint& proxy, const Bytes& request, const Bytes& greeting,
                             const std::optional<std::pair<std::string, std::string>>& user) {
    Socks5Result result;
    result.socket = test::connect_client(proxy);
    const Fd& s = result.socket;
    try {
        write_all(s, greeting);
        result.method_selection.resize(2);
        if (!read_exact(s, result.method_selection)) {
            result.method_selection.clear();
            return result;
        }
        if (result.method_selection[1] == 0xFF) return result;
        if (user) {
            write_all(s, test::user_pass(user->first, user->second));
            std::uint8_t status[2];
            if (!read_exact(s, status) || status[1] != 0x00) return result;
        }
        write_all(s, request);
        Bytes head(5);
        if (!read_exact(s, head)) return result;
        std::size_t rest = head[3] == 0x04 ? 15 + 2 : head[3] == 0x03 ? head[4] + 2u : 3 + 2;
        Bytes tail(rest);
        if (!read_exact(s, tail)) return result;
        result.reply_bytes = head;
        result.reply_bytes.insert(result.reply_bytes.end(), tail.begin(), tail.end());
        std::size_t size = 0;
        auto parsed = parse_address(ByteView(result.reply_bytes).subspan(3), size);
        if (auto* address = std::get_if<Address>(&parsed)) result.bound = *address;
        result.reply = head[1];
    } catch (const std::system_error&) {
        // A reset or timeout: the result says how far the exchange got.
    }
    return result;
}

Socks4Result socks4_exchange(const Endpoint& proxy, const Bytes& request) {
    Socks4Result result;
    result.socket = test::connect_client(proxy);
    try {
        write_all(result.socket, request);
        result.reply.resize(8);
        std::size_t got = 0;
        while (got < 8) {
            std::size_t n = read_some(result.socket, std::span(result.reply).subspan(got));
            if (n == 0) break;
            got += n;
        }
        result.reply.resize(got);
    } catch (const std::system_error&) {
        result.reply.clear();
    }
    return result;
}

Bytes read_up_to(const Fd& socket, std::size_t size) {
    Bytes bytes(size);
    std::size_t got = 0;
    try {
        while (got < size) {
            std::size_t n = read_some(socket, std::span(bytes).subspan(got));
            if (n == 0) break;
            got += n;
        }
    } catch (const std::system_error&) {
        // a reset or the receive timeout: return what arrived
    }
    bytes.resize(got);
    return bytes;
}

std::string echo_round_trip(const Fd& socket, const std::string& text) {
    try {
        write_all(socket, text);
        std::string back(text.size(), '\0');
        if (!read_exact(socket,
                        std::span(reinterpret_cast<std::uint8_t*>(back.data()), back.size()))) {
            return "(closed)";
        }
        return back;
    } catch (const std::system_error& error) {
        return std::string("(") + error.what() + ")";
    }
}

RecordingTarget::RecordingTarget(const std::string& host)
    : server_(
          [this](const Fd& client, const SocketAddress& peer) {
              {
                  std::lock_guard lock(mutex_);
                  peers_.push_back(peer);
              }
              echo_session(client, peer);
          },
          host) {}

int RecordingTarget::connections() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(peers_.size());
}

std::vector<SocketAddress> RecordingTarget::peers() const {
    std::lock_guard lock(mutex_);
    return peers_;
}

TempFile::TempFile(const std::string& text) {
    std::string pattern = testing::TempDir() + "ch06-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) throw_errno("mkstemp");
    Fd owner(fd);
    path_ = name.data();
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        throw_errno("write");
    }
}

TempFile::~TempFile() {
    ::unlink(path_.c_str());
}

SocketAddress ip(const std::string& text, std::uint16_t port) {
    SocketAddress address;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        address.size = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        address.size = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument("not an IP literal: " + text);
    }
    set_port(address, port);
    return address;
}

}  // namespace socks::ch06
