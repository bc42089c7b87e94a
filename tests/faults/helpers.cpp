#include "helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "echo.hpp"
#include "log.hpp"

namespace socks::faults {

namespace {
// The targets run in this process: their per-session log lines would bury
// the test output under tens of thousands of lines.
const bool quiet_targets = [] {
    set_log_level(LogLevel::Warn);
    return true;
}();
}  // namespace

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

Bytes greeting(std::initializer_list<std::uint8_t> methods) {
    Bytes out{0x05, static_cast<std::uint8_t>(methods.size())};
    out.insert(out.end(), methods.begin(), methods.end());
    return out;
}

namespace {
void push_port(Bytes& out, std::uint16_t port) {
    out.push_back(static_cast<std::uint8_t>(port >> 8));
    out.push_back(static_cast<std::uint8_t>(port & 0xFF));
}
}  // namespace

Bytes request_ipv4(const std::string& ip, std::uint16_t port, std::uint8_t command) {
    Bytes out{0x05, command, 0x00, 0x01};
    in_addr v4{};
    if (::inet_pton(AF_INET, ip.c_str(), &v4) != 1) throw std::invalid_argument(ip);
    auto* b = reinterpret_cast<const std::uint8_t*>(&v4);
    out.insert(out.end(), b, b + 4);
    push_port(out, port);
    return out;
}

Bytes request_ipv6(const std::string& ip, std::uint16_t port, std::uint8_t command) {
    Bytes out{0x05, command, 0x00, 0x04};
    in6_addr v6{};
    if (::inet_pton(AF_INET6, ip.c_str(), &v6) != 1) throw std::invalid_argument(ip);
    auto* b = reinterpret_cast<const std::uint8_t*>(&v6);
    out.insert(out.end(), b, b + 16);
    push_port(out, port);
    return out;
}

Bytes request_domain(const std::string& name, std::uint16_t port, std::uint8_t command) {
    Bytes out{0x05, command, 0x00, 0x03, static_cast<std::uint8_t>(name.size())};
    out.insert(out.end(), name.begin(), name.end());
    push_port(out, port);
    return out;
}

Bytes socks4a_request(const std::string& host, std::uint16_t port) {
    Bytes out{0x04, 0x01};
    push_port(out, port);
    out.insert(out.end(), {0, 0, 0, 1, 0});
    out.insert(out.end(), host.begin(), host.end());
    out.push_back(0);
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes read_up_to(const Fd& socket, std::size_t n) {
    Bytes out(n);
    std::size_t have = 0;
    while (have < n) {
        ssize_t got = ::recv(socket.get(), out.data() + have, n - have, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        have += static_cast<std::size_t>(got);
    }
    out.resize(have);
    return out;
}

Ending read_until_close(const Fd& socket, std::chrono::milliseconds timeout) {
    Ending ending;
    auto deadline = Clock::now() + timeout;
    std::uint8_t buffer[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{socket.get(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) break;
        ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
            ending.bytes.insert(ending.bytes.end(), buffer, buffer + n);
            continue;
        }
        if (n == 0) {
            ending.closed = true;
            return ending;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        ending.closed = true;
        ending.reset = errno == ECONNRESET;
        return ending;
    }
    ending.timed_out = true;
    return ending;
}

Reply read_reply(const Fd& socket) {
    Reply reply;
    Bytes head = read_up_to(socket, 4);
    if (head.size() < 4) return reply;
    std::size_t rest = 0;
    if (head[3] == 0x01) {
        rest = 4 + 2;
    } else if (head[3] == 0x04) {
        rest = 16 + 2;
    } else if (head[3] == 0x03) {
        Bytes length = read_up_to(socket, 1);
        if (length.empty()) return reply;
        head.push_back(length[0]);
        rest = length[0] + 2u;
    } else {
        return reply;
    }
    Bytes tail = read_up_to(socket, rest);
    if (tail.size() < rest) return reply;
    head.insert(head.end(), tail.begin(), tail.end());
    std::size_t size = 0;
    Parsed<Address> address = parse_address(ByteView(head).subspan(3), size);
    if (auto* parsed = std::get_if<Address>(&address)) reply.bound = *parsed;
    reply.code = head[1];
    return reply;
}

Session socks5(const Endpoint& proxy, const Bytes& request,
               const std::optional<Credentials>& user) {
    Session session;
    session.socket = test::connect_client(proxy, 10s);
    const Fd& s = session.socket;
    try {
        write_all(s, user ? greeting({0x02}) : greeting({0x00}));
        Bytes selection = read_up_to(s, 2);
        if (selection.size() != 2 || selection[1] != (user ? 0x02 : 0x00)) return session;
        if (user) {
            write_all(s, user_pass(user->first, user->second));
            Bytes status = read_up_to(s, 2);
            if (status.size() != 2 || status[1] != 0x00) return session;
        }
        write_all(s, request);
    } catch (const std::system_error&) {
        return session;  // reset or closed: no reply
    }
    Reply reply = read_reply(s);
    session.reply = reply.code;
    session.bound = reply.bound;
    return session;
}

std::string round_trip(const Fd& socket, const std::string& text) {
    try {
        write_all(socket, text);
    } catch (const std::system_error&) {
        return "";
    }
    Bytes back = read_up_to(socket, text.size());
    return std::string(back.begin(), back.end());
}

testing::AssertionResult control_client_served(const Endpoint& proxy, std::uint16_t echo_port,
                                               const std::optional<Credentials>& user,
                                               const std::string& text) {
    Session session;
    try {
        session = socks5(proxy, request_ipv4("127.0.0.1", echo_port), user);
    } catch (const std::exception& error) {
        return testing::AssertionFailure() << "control client: " << error.what();
    }
    if (session.reply != 0x00) {
        return testing::AssertionFailure() << "control client: reply " << session.reply;
    }
    std::string back = round_trip(session.socket, text);
    if (back != text) {
        return testing::AssertionFailure()
               << "control client: sent '" << text << "', got '" << back << "'";
    }
    return testing::AssertionSuccess();
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
}

double cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces, so start after ')').
    auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state
        if (i == 14) utime = std::stoull(field);
        if (i == 15) {
            stime = std::stoull(field);
            break;
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

int log_count(const ServerProcess& server, std::string_view needle) {
    std::string log = server.log();
    int count = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
        ++count;
    return count;
}

CountingTarget::CountingTarget()
    : server_([this](const Fd& client, const SocketAddress& peer) {
          ++accepted_;
          echo_session(client, peer);
      }) {}

void reset_on_close(const Fd& socket) {
    linger hard{1, 0};
    ::setsockopt(socket.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

testing::AssertionResult settles_to(const ServerProcess& proxy, int base_fds, int base_threads,
                                    int& end_fds, int& end_threads,
                                    std::chrono::milliseconds timeout) {
    bool settled = test::eventually(
        [&] {
            end_fds = proxy.open_descriptors();
            end_threads = proxy.threads();
            return end_fds == base_fds && end_threads == base_threads;
        },
        timeout);
    if (settled) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "descriptors " << end_fds << " (base " << base_fds << "), threads " << end_threads
           << " (base " << base_threads << ")";
}

Fd udp_on(const char* ip) {
    Fd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &address.sin_addr);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        throw_errno("bind");
    set_receive_timeout(socket, 5s);
    return socket;
}

SocketAddress ipv4_address(const std::array<std::uint8_t, 16>& ip, std::uint16_t port) {
    SocketAddress address;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, ip.data(), 4);
    v4->sin_port = htons(port);
    address.size = sizeof(sockaddr_in);
    return address;
}

Bytes udp_datagram_to(const SocketAddress& target, const std::string& data) {
    Bytes out{0x00, 0x00, 0x00, 0x01};
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&target.storage);
    std::uint32_t ip = ntohl(v4->sin_addr.s_addr);
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<std::uint8_t>(ip >> shift));
    out.push_back(static_cast<std::uint8_t>(target.port() >> 8));
    out.push_back(static_cast<std::uint8_t>(target.port() & 0xFF));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::string receive_text(const Fd& socket) {
    std::uint8_t buffer[2048];
    ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, buffer + n) : std::string();
}

}  // namespace socks::faults
