#include "interop.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace socks::interop {

testing::AssertionResult installed(const std::string& tool, const std::string& package) {
    if (test::have_program(tool)) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << tool << " is required for the compatibility matrix: apt-get install " << package;
}

std::string record_version(const std::string& package,
                           const std::vector<std::string>& version_command) {
    auto dpkg = test::run_command({"dpkg-query", "-W", "-f=${Version}", package}, {}, 10s);
    std::string version = package + " " + (dpkg.exit_code == 0 ? dpkg.out : "(not a package)");
    if (!version_command.empty()) {
        auto own = test::run_command(version_command, {}, 10s);
        std::string text = own.out.empty() ? own.err : own.out;
        text = text.substr(0, text.find('\n'));
        if (!text.empty()) version += " | " + text;
    }
    testing::Test::RecordProperty("client_version", version);
    std::printf("[ client   ] %s\n", version.c_str());
    std::fflush(stdout);
    return version;
}

CommandResult run(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
                  std::string_view input, std::chrono::milliseconds timeout) {
    std::vector<std::string> command{"env"};
    for (const char* name : {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                             "ALL_PROXY", "no_proxy", "NO_PROXY", "LD_PRELOAD"}) {
        command.insert(command.end(), {"-u", name});
    }
    command.insert(command.end(), environment.begin(), environment.end());
    command.insert(command.end(), argv.begin(), argv.end());
    return test::run_command(command, input, timeout);
}

std::string show(const CommandResult& result) {
    auto cut = [](const std::string& text) {
        return text.size() > 3000
                   ? text.substr(0, 3000) + "... (" + std::to_string(text.size()) + " bytes)"
                   : text;
    };
    return "exit " + std::to_string(result.exit_code) + (result.timed_out ? " (timed out)" : "") +
           "\nstdout: " + cut(result.out) + "\nstderr: " + cut(result.err);
}

std::string Access::operator[](const std::string& key) const {
    auto found = fields.find(key);
    return found == fields.end() ? std::string() : found->second;
}

std::vector<Access> access_lines(const std::string& log) {
    std::vector<Access> lines;
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos) end = log.size();
        std::string line = log.substr(start, end - start);
        start = end + 1;
        std::size_t at = line.find(" access ");
        if (at == std::string::npos) continue;
        Access access{line, {}};
        // key=value pairs; a value in quotes may hold spaces (note="...").
        std::size_t i = at + 8;
        while (i < line.size()) {
            std::size_t equals = line.find('=', i);
            if (equals == std::string::npos) break;
            std::string key = line.substr(i, equals - i);
            std::size_t value_end;
            std::string value;
            if (equals + 1 < line.size() && line[equals + 1] == '"') {
                value_end = line.find('"', equals + 2);
                if (value_end == std::string::npos) value_end = line.size();
                value = line.substr(equals + 2, value_end - equals - 2);
                ++value_end;
            } else {
                value_end = line.find(' ', equals);
                if (value_end == std::string::npos) value_end = line.size();
                value = line.substr(equals + 1, value_end - equals - 1);
            }
            access.fields[key] = value;
            i = value_end + 1;
        }
        lines.push_back(std::move(access));
    }
    return lines;
}

testing::AssertionResult logged(const ServerProcess& proxy,
                                const std::map<std::string, std::string>& expected, Access* line,
                                std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto lines = access_lines(proxy.log());
        for (const Access& access : lines) {
            bool all = true;
            for (const auto& [key, value] : expected)
                all = all && access[key] == value;
            if (all) {
                if (line) *line = access;
                return testing::AssertionSuccess();
            }
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 ||
            !proxy.wait_for_log(" access ", left, static_cast<int>(lines.size()) + 1)) {
            std::string wanted;
            for (const auto& [key, value] : expected)
                wanted += " " + key + "=" + value;
            return testing::AssertionFailure()
                   << "no access line with" << wanted << "\nserver log:\n"
                   << proxy.log();
        }
    }
}

TempDir::TempDir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw_errno("mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& text, int mode) const {
    std::string file = path_ + "/" + name;
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + file);
    }
    std::filesystem::permissions(file, static_cast<std::filesystem::perms>(mode));
    return file;
}

test::BackgroundServer answer_after_eof_target(const std::string& host) {
    return test::BackgroundServer(
        [](const Fd& socket, const SocketAddress&) {
            set_receive_timeout(socket, 10s);
            std::string received;
            std::uint8_t buffer[4096];
            while (std::size_t n = read_some(socket, buffer))
                received.append(reinterpret_cast<const char*>(buffer), n);
            write_all(socket, "got " + std::to_string(received.size()) +
                                  " bytes: " + received.substr(0, 64) + "\n");
        },
        host);
}

UdpEchoTarget::UdpEchoTarget(const std::string& host) {
    int family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    socket_ = Fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket_) throw_errno("socket");
    SocketAddress bind_to;
    if (family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&bind_to.storage);
        v4->sin_family = AF_INET;
        ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr);
        bind_to.size = sizeof(sockaddr_in);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&bind_to.storage);
        v6->sin6_family = AF_INET6;
        ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr);
        bind_to.size = sizeof(sockaddr_in6);
    }
    if (::bind(socket_.get(), bind_to.get(), bind_to.size) < 0) throw_errno("bind");
    port_ = local_address(socket_).port();
    wake_ = Fd(::eventfd(0, EFD_CLOEXEC));
    if (!wake_) throw_errno("eventfd");
    thread_ = std::thread([this] {
        std::vector<std::uint8_t> buffer(65536);
        for (;;) {
            pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (fds[1].revents != 0) return;
            SocketAddress from;
            from.size = sizeof from.storage;
            ssize_t n = ::recvfrom(socket_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from.storage), &from.size);
            if (n < 0) continue;
            ++datagrams_;
            std::string reply = "echo:" + std::string(reinterpret_cast<const char*>(buffer.data()),
                                                      static_cast<std::size_t>(n));
            ::sendto(socket_.get(), reply.data(), reply.size(), 0, from.get(), from.size);
        }
    });
}

UdpEchoTarget::~UdpEchoTarget() {
    std::uint64_t one = 1;
    if (::write(wake_.get(), &one, sizeof one) < 0) {
        // The thread then ends with the process; nothing better to do here.
    }
    thread_.join();
}

std::string current_user() {
    if (passwd* entry = ::getpwuid(::geteuid())) return entry->pw_name;
    return "root";
}

}  // namespace socks::interop
