// Chapter 06 behind real HAProxy (Debian's haproxy, mode tcp): two
// socks5-server instances, one sent PROXY protocol v2 and one v1, and curl
// clients bound to their own loopback addresses (127.0.0.2, 127.0.0.3). The
// rules and the access log must see those addresses, not HAProxy's; sessions
// spread over both instances; headers no balancer sends are refused cleanly.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "client.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "target.hpp"

extern char** environ;

namespace socks::ch06 {
namespace {

constexpr const char* kHaproxy = "/usr/sbin/haproxy";

// HAProxy in the foreground, its frontend on a socket the test bound to port 0
// and hands over as descriptor 3 ("bind fd@3"): no port is guessed, and
// clients may connect at once (the kernel queues them until HAProxy accepts).
class Haproxy {
  public:
    explicit Haproxy(const std::string& backend_lines) {
        listener_ = listen_tcp(Endpoint{"127.0.0.1", 0});
        port_ = local_address(listener_).port();
        char dir_template[] = "/tmp/socks5-haproxy-XXXXXX";
        dir_ = ::mkdtemp(dir_template);
        config_ = dir_ + "/haproxy.cfg";
        log_ = dir_ + "/haproxy.log";
        std::ofstream(config_) << "defaults\n  mode tcp\n  timeout connect 5s\n"
                               << "  timeout client 30s\n  timeout server 30s\n"
                               << "frontend socks\n  bind fd@3\n  default_backend servers\n"
                               << "backend servers\n  balance roundrobin\n"
                               << backend_lines;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, listener_.get(), 3);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::vector<std::string> args{kHaproxy, "-db", "-f", config_};
        std::vector<char*> argv;
        for (auto& arg : args)
            argv.push_back(arg.data());
        argv.push_back(nullptr);
        int error = ::posix_spawn(&pid_, kHaproxy, &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (error != 0) pid_ = -1;
    }
    ~Haproxy() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        ::unlink(config_.c_str());
        ::unlink(log_.c_str());
        ::rmdir(dir_.c_str());
    }
    Haproxy(const Haproxy&) = delete;
    Haproxy& operator=(const Haproxy&) = delete;

    bool started() const { return pid_ > 0; }
    std::string proxy() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string log() const {
        std::ifstream in(log_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

  private:
    Fd listener_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::string dir_, config_, log_;
};

// A raw client connected from `source` (a loopback address of its own).
Fd connect_from(const std::string& source, std::uint16_t port) {
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    SocketAddress from = ip(source), to = ip("127.0.0.1", port);
    if (::bind(socket.get(), from.get(), from.size) != 0 ||
        ::connect(socket.get(), to.get(), to.size) != 0) {
        throw std::system_error(errno, std::generic_category(), "connect from " + source);
    }
    timeval timeout{5, 0};
    ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return socket;
}

std::vector<Access> from_client(const ServerProcess& server, const std::string& address) {
    std::vector<Access> out;
    for (const Access& line : access_lines(server.log())) {
        if (line["client"].starts_with(address + ":")) out.push_back(line);
    }
    return out;
}

TEST(BehindHaproxy, RulesAndTheLogSeeTheRealClientOnEveryInstance) {
    ASSERT_TRUE(installed(kHaproxy));
    ASSERT_TRUE(installed("curl"));
    test::HttpTarget target({{"/", {"text/plain", "hello through haproxy\n"}}});
    std::vector<std::string> flags{"--proxy-protocol-from", "127.0.0.1", "--deny",
                                   "from=127.0.0.3"};
    ServerProcess first(kServer, flags), second(kServer, flags);
    Haproxy haproxy("  server first " + first.proxy() + " send-proxy-v2\n  server second " +
                    second.proxy() + " send-proxy\n");
    ASSERT_TRUE(haproxy.started());

    for (int i = 0; i < 4; ++i) {
        auto got = curl({"--interface", "127.0.0.2", "--socks5", haproxy.proxy(),
                         url("127.0.0.1", target.port())});
        ASSERT_EQ(got.exit_code, 0) << show(got) << haproxy.log() << first.log() << second.log();
        EXPECT_EQ(got.out, "hello through haproxy\n");
    }
    // The rule from=127.0.0.3 must see 127.0.0.3, not HAProxy's 127.0.0.1.
    auto denied = curl(
        {"--interface", "127.0.0.3", "--socks5", haproxy.proxy(), url("127.0.0.1", target.port())});
    EXPECT_NE(denied.exit_code, 0) << show(denied);
    EXPECT_EQ(target.requests(), 4);

    // Round robin: two sessions each, every one logged with the real client
    // and the balancer it came through, and the refused one on either.
    EXPECT_TRUE(test::eventually(
        [&] { return access_lines(first.log()).size() + access_lines(second.log()).size() >= 5; },
        10s))
        << first.log() << second.log();
    for (const ServerProcess* server : {&first, &second}) {
        std::vector<Access> lines = from_client(*server, "127.0.0.2");
        EXPECT_GE(lines.size(), 2u) << server->log();
        for (const Access& line : lines) {
            EXPECT_TRUE(has_fields(line, {{"reply", "00"}, {"cmd", "CONNECT"}}));
            EXPECT_TRUE(line["via"].starts_with("127.0.0.1:")) << line.line;
        }
        EXPECT_TRUE(from_client(*server, "127.0.0.1").empty()) << server->log();
    }
    std::vector<Access> refused = from_client(first, "127.0.0.3");
    std::vector<Access> refused2 = from_client(second, "127.0.0.3");
    refused.insert(refused.end(), refused2.begin(), refused2.end());
    ASSERT_EQ(refused.size(), 1u) << first.log() << second.log();
    EXPECT_TRUE(has_fields(refused[0], {{"reply", "02"}}));
}

// What no balancer sends, each from the trusted address: a clean close (no
// byte back, no reset), one access line naming why, and nothing else
// disturbed: a good header behind them all is still served, and no
// descriptor is left behind.
TEST(BehindHaproxy, BadHeadersFromTheBalancerAreClosedWithOneLineEach) {
    ServerProcess server(kServer, {"--proxy-protocol-from", "127.0.0.1"});
    auto echo = test::echo_target();
    int descriptors = server.open_descriptors();
    struct Case {
        std::string what;
        std::string bytes;
        std::string note;
    };
    const std::string v2 = std::string("\r\n\r\n\0\r\nQUIT\n", 12);
    std::vector<Case> cases = {
        {"no header", std::string("\x05\x01\x00", 3), "not a PROXY protocol header"},
        {"truncated v1", "PROXY TCP4 127.0.0.2", "connection closed after 20 bytes"},
        {"v1 bad address", "PROXY TCP4 127.0.0.256 127.0.0.1 1 2\r\n", "are not TCP4"},
        {"v1 without CRLF", "PROXY TCP4 " + std::string(120, '9'), "no CRLF within 107"},
        {"v2 unknown family", v2 + std::string("\x21\x71\x00\x00", 4), "family 0x71"},
        {"v2 oversized", v2 + std::string("\x21\x11\xff\xff", 4) + std::string(64, 'x'),
         "65535 address bytes announced"},
        {"v2 truncated", v2.substr(0, 9), "connection closed after 9 bytes"},
    };
    for (const Case& bad : cases) {
        SCOPED_TRACE(bad.what);
        Fd client = connect_tcp(server.endpoint());
        timeval timeout{5, 0};
        ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        write_all(client, bad.bytes);
        ::shutdown(client.get(), SHUT_WR);
        test::UntilClose got = read_until_close(client);
        EXPECT_TRUE(got.closed) << got.error;
        EXPECT_TRUE(got.bytes.empty());
        EXPECT_TRUE(got.error.empty()) << "not a clean close: " << got.error;
    }
    auto lines = wait_for_access(server, cases.size());
    ASSERT_EQ(lines.size(), cases.size()) << server.log();
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_NE(lines[i]["note"].find(cases[i].note), std::string::npos)
            << cases[i].what << ": " << lines[i].line;
        EXPECT_TRUE(lines[i]["client"].starts_with("127.0.0.1:")) << lines[i].line;
    }

    // Then a good one: served, and logged as the client it names.
    Fd client = connect_tcp(server.endpoint());
    write_all(client, "PROXY TCP4 127.0.0.9 127.0.0.1 4242 1080\r\n");
    Bytes greeting{0x05, 0x01, 0x00};
    write_all(client, ByteView(greeting));
    Bytes answer = read_up_to(client, 2);
    EXPECT_EQ(answer, (Bytes{0x05, 0x00}));
    write_all(client, ByteView(socks5_request_ip("127.0.0.1", echo.port())));
    Bytes reply = read_up_to(client, 10);
    ASSERT_EQ(reply.size(), 10u);
    EXPECT_EQ(reply[1], 0x00);
    EXPECT_EQ(echo_round_trip(client, "still served"), "still served");
    client = Fd();
    Access good = access(server, cases.size() + 1);
    EXPECT_TRUE(has_fields(good, {{"client", "127.0.0.9:4242"}, {"reply", "00"}})) << good.line;
    EXPECT_TRUE(test::eventually([&] { return server.open_descriptors() == descriptors; }, 5s))
        << server.open_descriptors() << " descriptors open, " << descriptors << " before";
}

// Anyone may write "PROXY TCP4 <any address> ...": only the balancers of
// --proxy-protocol-from are believed. From elsewhere (127.0.0.2 here), a
// header is refused and logged as the connection's own address, with or
// without --proxy-protocol-from on the command line.
TEST(BehindHaproxy, AHeaderFromAnUntrustedSourceIsRefused) {
    for (std::vector<std::string> flags :
         {std::vector<std::string>{"--proxy-protocol-from", "127.0.0.1"},
          std::vector<std::string>{}}) {
        ServerProcess server(kServer, flags);
        for (const std::string& header :
             {std::string("PROXY TCP4 10.9.8.7 127.0.0.1 1 2\r\n"),
              std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16) + std::string(12, '\1')}) {
            Fd client = connect_from("127.0.0.2", server.port());
            write_all(client, header);
            ::shutdown(client.get(), SHUT_WR);
            test::UntilClose got = read_until_close(client);
            EXPECT_TRUE(got.closed) << got.error;
            EXPECT_TRUE(got.bytes.empty());
        }
        auto lines = wait_for_access(server, 2);
        ASSERT_EQ(lines.size(), 2u) << server.log();
        for (const Access& line : lines) {
            EXPECT_TRUE(line["client"].starts_with("127.0.0.2:")) << line.line;
            EXPECT_NE(line["note"].find("not in --proxy-protocol-from"), std::string::npos)
                << line.line;
            EXPECT_EQ(line["via"], "(missing)") << line.line;
        }
    }
}

}  // namespace
}  // namespace socks::ch06

namespace socks::ch06 {
namespace {

// --reuse-port: two instances on one port (SO_REUSEPORT), the kernel spreading
// connections over them by a hash of each connection's addresses and ports.
// Every connection has a new source port, so within a few both have served;
// the bound (200) only ends a broken test.
TEST(ReusePort, TwoInstancesShareOnePortAndBothServe) {
    ServerProcess first(kServer, {"--reuse-port"});
    std::string shared = first.proxy();
    ServerProcess second(kServer, {"--reuse-port", "--listen", shared});
    EXPECT_EQ(second.proxy(), shared);
    auto served = [](const ServerProcess& server) { return access_lines(server.log()).size(); };
    for (int i = 0; i < 200 && (served(first) == 0 || served(second) == 0); ++i) {
        Fd client = connect_tcp(first.endpoint());
        timeval timeout{5, 0};
        ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        Bytes greeting{0x05, 0x01, 0x00};
        write_all(client, ByteView(greeting));
        ASSERT_EQ(read_up_to(client, 2), (Bytes{0x05, 0x00}));
        ::shutdown(client.get(), SHUT_WR);
        ASSERT_TRUE(read_until_close(client).closed);  // its access line is written by now
    }
    EXPECT_GT(served(first), 0u) << first.log();
    EXPECT_GT(served(second), 0u) << second.log();
}

// Without --reuse-port on both, the second instance cannot have the port.
TEST(ReusePort, WithoutItTheSecondInstanceIsRefusedThePort) {
    ServerProcess first(kServer, {"--reuse-port"});
    auto second =
        test::run_command({test::program_path(kServer), "--listen", first.proxy()}, {}, 10s);
    EXPECT_EQ(second.exit_code, 1) << second.err;
    EXPECT_NE(second.err.find("Address already in use"), std::string::npos) << second.err;
}

}  // namespace
}  // namespace socks::ch06

namespace socks::ch06 {
namespace {

// The JSON lines of `log`, read back by Python's json module (a real JSON
// parser, not ours): one "key=value|key=value" line per object, keys sorted,
// JSON null as "null", or a Python error message.
std::vector<std::string> parsed_json_lines(const std::string& log) {
    auto result =
        test::run_command({"/usr/bin/python3", "-c",
                           "import json, sys\n"
                           "for line in sys.stdin:\n"
                           "    if line.startswith('{'):\n"
                           "        record = json.loads(line)\n"
                           "        print('|'.join('%s=%s' % (k, 'null' if v is None else v)\n"
                           "                       for k, v in sorted(record.items())))\n"},
                          log, 10s);
    std::vector<std::string> lines;
    std::istringstream out(result.out);
    for (std::string line; std::getline(out, line);)
        lines.push_back(line);
    if (result.exit_code != 0) lines.push_back("python3 failed: " + result.err);
    return lines;
}

bool has(const std::string& line, const std::string& field) {
    return ("|" + line + "|").find("|" + field + "|") != std::string::npos;
}

// --log-format json: every session one object that a JSON parser reads, with
// the same facts as the text line; a user name with quotes and a newline in it
// stays inside its string (no second line, no forged field).
TEST(JsonLog, OneObjectPerSessionThatAJsonParserReads) {
    ASSERT_TRUE(installed("curl"));
    test::HttpTarget target({{"/", {"text/plain", "json\n"}}});
    ServerProcess server(kServer, {"--log-format", "json", "--user", "alice:secret"});
    auto ok = curl(
        {"--socks5-hostname", "alice:secret@" + server.proxy(), url("127.0.0.1", target.port())});
    ASSERT_EQ(ok.exit_code, 0) << show(ok);
    Socks5Result hostile = socks5_exchange(
        server.endpoint(), {}, {0x05, 0x01, 0x02},
        std::pair<std::string, std::string>{"bob\"\n{\"client\":\"forged", "wrong"});
    EXPECT_EQ(hostile.reply, -1);
    std::vector<std::string> lines;
    ASSERT_TRUE(test::eventually(
        [&] { return (lines = parsed_json_lines(server.log())).size() >= 2; }, 10s))
        << server.log();
    ASSERT_EQ(lines.size(), 2u) << server.log();
    EXPECT_TRUE(has(lines[0], "user=alice")) << lines[0];
    EXPECT_TRUE(has(lines[0], "command=CONNECT")) << lines[0];
    EXPECT_TRUE(has(lines[0], "reply=00")) << lines[0];
    EXPECT_TRUE(has(lines[0], "proto=socks5")) << lines[0];
    EXPECT_TRUE(has(lines[0], "target=127.0.0.1:" + std::to_string(target.port()))) << lines[0];
    EXPECT_TRUE(
        has(lines[0], "bytes_down=" + std::to_string(http_response_size("text/plain", "json\n"))))
        << lines[0];
    EXPECT_TRUE(lines[0].find("|time=20") != std::string::npos) << lines[0];
    EXPECT_TRUE(has(lines[1], "reply=null")) << lines[1];
    EXPECT_TRUE(has(lines[1], "command=null")) << lines[1];
    EXPECT_TRUE(has(lines[1], "user=tried:bob\\x22\\x0a{\\x22client\\x22:\\x22forged")) << lines[1];
    EXPECT_TRUE(lines[1].find("client=127.0.0.1:") != std::string::npos) << lines[1];
}

// --health-from: HAProxy's health checks (a connection, with check-send-proxy a
// PROXY header, then a close) write no access line; a control instance without --health-from,
// checked by the same HAProxy, logs each one, which tells when enough checks
// have come.
TEST(HealthChecks, AreNotLoggedFromHealthFromSources) {
    ASSERT_TRUE(installed(kHaproxy));
    ServerProcess quiet(kServer,
                        {"--proxy-protocol-from", "127.0.0.1", "--health-from", "127.0.0.1"});
    ServerProcess control(kServer, {"--proxy-protocol-from", "127.0.0.1"});
    Haproxy haproxy("  server quiet " + quiet.proxy() +
                    " send-proxy-v2 check check-send-proxy inter 50ms\n  server control " +
                    control.proxy() + " send-proxy-v2 check check-send-proxy inter 50ms\n");
    ASSERT_TRUE(haproxy.started());
    ASSERT_TRUE(control.wait_for_log("note=\"closed before sending anything\"", 10s, 3))
        << control.log() << haproxy.log();
    // A plain TCP check (connect, close) is quiet too; a real session is logged.
    Fd plain = connect_tcp(quiet.endpoint());
    ::shutdown(plain.get(), SHUT_WR);
    ASSERT_TRUE(read_until_close(plain).closed);
    EXPECT_TRUE(access_lines(quiet.log()).empty()) << quiet.log();
    Fd client = connect_tcp(quiet.endpoint());
    write_all(client, "PROXY TCP4 127.0.0.9 127.0.0.1 4242 1080\r\n");
    ::shutdown(client.get(), SHUT_WR);
    ASSERT_TRUE(read_until_close(client).closed);
    // Waited for: the test reads the server's stderr on a thread of its own. Any
    // health-check line would have come before this one.
    auto lines = wait_for_access(quiet, 1);
    ASSERT_EQ(lines.size(), 1u) << quiet.log();
    EXPECT_TRUE(has_fields(lines[0], {{"client", "127.0.0.9:4242"}})) << lines[0].line;
}

}  // namespace
}  // namespace socks::ch06
