// Row "Dante socksify" (dante-client): unmodified programs through
// socksify's LD_PRELOAD library: a TCP connect (curl), a UDP exchange (whose
// UDP ASSOCIATE names the client's real address), and BIND (an active-mode
// FTP download). Runs in the loopback-only namespace (interop_browser_tests).
//
// socksify treats loopback as a "LAN route" that it never proxies unless
// SOCKS_AUTOADD_LANROUTES=no; SOCKS_CONF points at an empty config of our own
// so /etc/dante.conf cannot change what the test does.
#include <gtest/gtest.h>

#include <mutex>
#include <sstream>

#include "interop.hpp"

namespace socks::interop {
namespace {

class Socksify : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("socksify", "dante-client"));
        record_version("dante-client");
    }
    // `server_variable`: SOCKS5_SERVER, or SOCKS4_SERVER for SOCKS4.
    CommandResult socksify(const ServerProcess& proxy, const std::vector<std::string>& program,
                           std::vector<std::string> environment = {},
                           const std::string& server_variable = "SOCKS5_SERVER") {
        environment.insert(environment.end(),
                           {"SOCKS_CONF=" + conf, server_variable + "=" + proxy.proxy(),
                            "SOCKS_AUTOADD_LANROUTES=no"});
        std::vector<std::string> argv{"socksify"};
        argv.insert(argv.end(), program.begin(), program.end());
        return run(argv, environment);
    }
    TempDir dir{"socks5-socksify"};
    std::string conf = dir.write("dante.conf", "# empty: the route comes from SOCKS5_SERVER\n");
    std::string body = random_text(100 * 1024, 17);
    test::HttpTarget web{{{"/file.bin", {"application/octet-stream", body}}}};
    std::string port = std::to_string(web.port());
};

TEST_F(Socksify, TcpConnect) {
    ServerProcess proxy(kServer, {"--trace"});
    auto result = socksify(proxy, {"curl", "-q", "-sS", "--max-time", "15",
                                   url("127.0.0.1", web.port(), "/file.bin")});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body) << result.out.size() << " bytes of " << body.size();
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"user", "-"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "00"}}));
    // socksify offers username/password even without credentials: 05 02 00 02.
    EXPECT_NE(proxy.log().find("00 02                       METHODS    NO AUTHENTICATION "
                               "REQUIRED, USERNAME/PASSWORD"),
              std::string::npos)
        << proxy.log();
}

TEST_F(Socksify, TcpConnectWithPassword) {
    ServerProcess proxy(kServer, {"--user", "bob:secret"});
    auto result = socksify(
        proxy, {"curl", "-q", "-sS", "--max-time", "15", url("127.0.0.1", web.port(), "/file.bin")},
        {"SOCKS_USERNAME=bob", "SOCKS_PASSWORD=secret"});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    EXPECT_TRUE(logged(
        proxy,
        {{"user", "bob"}, {"cmd", "CONNECT"}, {"target", "127.0.0.1:" + port}, {"reply", "00"}}));
}

TEST_F(Socksify, Socks4TcpConnect) {
    ServerProcess proxy(kServer);
    auto result = socksify(
        proxy, {"curl", "-q", "-sS", "--max-time", "15", url("127.0.0.1", web.port(), "/file.bin")},
        {}, "SOCKS4_SERVER");
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    EXPECT_TRUE(logged(proxy, {{"proto", "socks4"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + port},
                               {"reply", "5a"}}));
}

TEST_F(Socksify, LoopbackGoesDirectUnlessLanRoutesAreOff) {
    ServerProcess proxy(kServer);
    auto result = run({"socksify", "curl", "-q", "-sS", "--max-time", "15",
                       url("127.0.0.1", web.port(), "/file.bin")},
                      {"SOCKS_CONF=" + conf, "SOCKS5_SERVER=" + proxy.proxy()});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    EXPECT_TRUE(result.out == body);
    // The download worked, and not through the proxy: nobody connected to it.
    EXPECT_EQ(access_lines(proxy.log()).size(), 0u) << proxy.log();
}

// A Python program that sends one datagram and prints the answer and its sender.
const char* const kUdpProgram =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.settimeout(10)\n"
    "s.sendto(sys.argv[1].encode(), ('127.0.0.1', int(sys.argv[2])))\n"
    "data, sender = s.recvfrom(65535)\n"
    "print(data.decode(), sender[1])\n";

TEST_F(Socksify, UdpExchangeNamesTheRealClientAddress) {
    UdpEchoTarget target;
    std::string udp_port = std::to_string(target.port());
    ServerProcess proxy(kServer);
    auto result =
        socksify(proxy, {"/usr/bin/python3", "-c", kUdpProgram, "through socksify", udp_port});
    EXPECT_EQ(result.exit_code, 0) << show(result);
    // The answer, and the target's address as the sender: socksify unwraps the header.
    EXPECT_EQ(result.out, "echo:through socksify " + udp_port + "\n") << show(result);
    Access line;
    EXPECT_TRUE(logged(
        proxy, {{"proto", "socks5"}, {"cmd", "UDP"}, {"reply", "00"}, {"up", "16"}, {"down", "21"}},
        &line));
    // DST in the UDP ASSOCIATE request is the client's real address and port, not zeros.
    EXPECT_EQ(line["target"].rfind("127.0.0.1:", 0), 0u) << line.line;
    EXPECT_NE(line["target"], "127.0.0.1:0") << line.line;
    EXPECT_EQ(target.datagrams(), 1);
}

// A minimal FTP server: enough for one active-mode download (USER, TYPE,
// PORT, RETR, QUIT). On RETR it connects to the address PORT named, which,
// under socksify, is the proxy's BIND port.
class FtpServer {
  public:
    explicit FtpServer(std::string file) : file_(std::move(file)) {}
    std::uint16_t port() const { return server_.port(); }
    std::string data_peer() const {
        std::lock_guard lock(mutex_);
        return data_peer_;
    }

  private:
    void serve(const Fd& control) {
        set_receive_timeout(control, 10s);
        write_all(control, std::string_view("220 interop FTP\r\n"));
        std::string pending;
        std::optional<Endpoint> data;
        for (;;) {
            std::size_t end;
            while ((end = pending.find("\r\n")) == std::string::npos) {
                std::uint8_t buffer[512];
                std::size_t n = read_some(control, buffer);
                if (n == 0) return;
                pending.append(reinterpret_cast<const char*>(buffer), n);
            }
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 2);
            std::string verb = line.substr(0, line.find(' '));
            if (verb == "USER") {
                write_all(control, std::string_view("230 logged in\r\n"));
            } else if (verb == "TYPE") {
                write_all(control, std::string_view("200 type set\r\n"));
            } else if (verb == "PORT") {
                // PORT h1,h2,h3,h4,p1,p2
                std::istringstream fields(line.substr(5));
                unsigned part[6] = {};
                char comma;
                fields >> part[0] >> comma >> part[1] >> comma >> part[2] >> comma >> part[3] >>
                    comma >> part[4] >> comma >> part[5];
                data = Endpoint{std::to_string(part[0]) + "." + std::to_string(part[1]) + "." +
                                    std::to_string(part[2]) + "." + std::to_string(part[3]),
                                static_cast<std::uint16_t>(part[4] << 8 | part[5])};
                write_all(control, std::string_view("200 PORT ok\r\n"));
            } else if (verb == "RETR" && data) {
                write_all(control, std::string_view("150 opening data connection\r\n"));
                {
                    Fd connection = connect_tcp(*data);
                    {
                        std::lock_guard lock(mutex_);
                        data_peer_ = local_address(connection).to_string();
                    }
                    write_all(connection, file_);
                }
                write_all(control, std::string_view("226 transfer complete\r\n"));
            } else if (verb == "QUIT") {
                write_all(control, std::string_view("221 bye\r\n"));
                return;
            } else {
                write_all(control, std::string_view("502 not implemented\r\n"));
            }
        }
    }

    std::string file_;
    mutable std::mutex mutex_;
    std::string data_peer_;  // where the data connection came from
    test::BackgroundServer server_{
        [this](const Fd& control, const SocketAddress&) { serve(control); }};
};

TEST_F(Socksify, BindThroughAnActiveModeFtpDownload) {
    std::string file = random_text(64 * 1024, 19);
    FtpServer ftp(file);
    std::string ftp_port = std::to_string(ftp.port());
    ServerProcess proxy(kServer);
    auto result = socksify(proxy, {INTEROP_FTP_CLIENT, "127.0.0.1", ftp_port, "file.bin"});
    EXPECT_EQ(result.exit_code, 0) << show(result) << "\nproxy log:\n" << proxy.log();
    EXPECT_TRUE(result.out == file) << result.out.size() << " bytes of " << file.size() << "\n"
                                    << show(result);
    // The control connection, then the BIND whose second reply names the FTP
    // server's data connection.
    EXPECT_TRUE(logged(proxy, {{"proto", "socks5"},
                               {"cmd", "CONNECT"},
                               {"target", "127.0.0.1:" + ftp_port},
                               {"reply", "00"}}));
    Access line;
    EXPECT_TRUE(logged(proxy,
                       {{"proto", "socks5"},
                        {"cmd", "BIND"},
                        {"reply", "00"},
                        {"down", std::to_string(file.size())}},
                       &line));
    EXPECT_EQ(line["target"].rfind("127.0.0.1:", 0), 0u) << line.line;
    EXPECT_NE(line["note"].find("peer " + ftp.data_peer()), std::string::npos)
        << line.line << " (data connection from " << ftp.data_peer() << ")";
}

TEST_F(Socksify, Socks4BindThroughAnActiveModeFtpDownload) {
    std::string file = random_text(64 * 1024, 29);
    FtpServer ftp(file);
    std::string ftp_port = std::to_string(ftp.port());
    ServerProcess proxy(kServer);
    auto result = socksify(proxy, {INTEROP_FTP_CLIENT, "127.0.0.1", ftp_port, "file.bin"}, {},
                           "SOCKS4_SERVER");
    EXPECT_EQ(result.exit_code, 0) << show(result) << "\nproxy log:\n" << proxy.log();
    EXPECT_TRUE(result.out == file) << result.out.size() << " bytes of " << file.size();
    // SOCKS4 BIND names the host it expects, as the SOCKS4 protocol asks: the
    // address of the control connection's server.
    Access line;
    EXPECT_TRUE(logged(proxy,
                       {{"proto", "socks4"},
                        {"cmd", "BIND"},
                        {"target", "127.0.0.1:" + ftp_port},
                        {"reply", "5a"},
                        {"down", std::to_string(file.size())}},
                       &line));
    EXPECT_NE(line["note"].find("peer " + ftp.data_peer()), std::string::npos) << line.line;
}

}  // namespace
}  // namespace socks::interop
