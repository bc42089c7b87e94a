// interop-ftp-client HOST PORT FILE: downloads FILE from the FTP server at
// HOST:PORT in active mode (PORT, then the server connects back) and writes
// it to stdout. The smallest FTP client that makes Dante's socksify send a
// SOCKS BIND: run under socksify, its bind() + listen() on the data socket
// become a BIND request, getsockname() reports the proxy's address (which it
// sends in PORT), and accept() waits for the proxy's second reply.
//
// Plain POSIX calls on purpose, and accept() rather than accept4(): socksify
// (Dante 1.4.2) intercepts accept() but not accept4(), which is why Python's
// ftplib fails in active mode under socksify (EINVAL from a socket that was
// never really listening). Built without sanitizers: their runtimes refuse to
// run after socksify's LD_PRELOAD library.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// Owns one descriptor.
class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "interop-ftp-client: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void fail_errno(const std::string& call) {
    fail(call + ": " + std::strerror(errno));
}

void set_timeout(int fd) {
    timeval ten{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ten, sizeof ten);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &ten, sizeof ten);
}

void send_line(int control, const std::string& line) {
    std::fprintf(stderr, "> %s\n", line.c_str());
    std::string bytes = line + "\r\n";
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t n = ::send(control, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno("send");
        }
        sent += static_cast<std::size_t>(n);
    }
}

// Reads one reply line (single-line replies only: all our server sends) and
// checks its code.
void expect_reply(int control, const char* code) {
    std::string line;
    char c;
    while (line.empty() || line.back() != '\n') {
        ssize_t n = ::recv(control, &c, 1, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("control connection ended while waiting for " + std::string(code));
        line += c;
    }
    std::fprintf(stderr, "< %s", line.c_str());
    if (line.compare(0, 3, code) != 0) fail("expected " + std::string(code) + ", got " + line);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: interop-ftp-client HOST PORT FILE\n");
        return 2;
    }
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* server = nullptr;
    if (::getaddrinfo(argv[1], argv[2], &hints, &server) != 0) fail("not an IPv4 address and port");
    Socket control(::socket(AF_INET, SOCK_STREAM, 0));
    set_timeout(control.get());
    if (::connect(control.get(), server->ai_addr, server->ai_addrlen) < 0) fail_errno("connect");
    ::freeaddrinfo(server);

    expect_reply(control.get(), "220");
    send_line(control.get(), "USER anonymous");
    expect_reply(control.get(), "230");
    send_line(control.get(), "TYPE I");
    expect_reply(control.get(), "200");

    // The data socket, as every active-mode client makes it.
    Socket data(::socket(AF_INET, SOCK_STREAM, 0));
    set_timeout(data.get());
    sockaddr_in any{};
    any.sin_family = AF_INET;
    if (::bind(data.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) < 0) fail_errno("bind");
    if (::listen(data.get(), 1) < 0) fail_errno("listen");
    sockaddr_in here{};
    socklen_t size = sizeof here;
    if (::getsockname(data.get(), reinterpret_cast<sockaddr*>(&here), &size) < 0) {
        fail_errno("getsockname");
    }
    if (here.sin_addr.s_addr == htonl(INADDR_ANY)) {  // not proxied: use the control's address
        sockaddr_in control_here{};
        size = sizeof control_here;
        ::getsockname(control.get(), reinterpret_cast<sockaddr*>(&control_here), &size);
        here.sin_addr = control_here.sin_addr;
    }
    auto* ip = reinterpret_cast<const unsigned char*>(&here.sin_addr.s_addr);
    unsigned port = ntohs(here.sin_port);
    char command[64];
    std::snprintf(command, sizeof command, "PORT %u,%u,%u,%u,%u,%u", ip[0], ip[1], ip[2], ip[3],
                  port >> 8, port & 0xFF);
    send_line(control.get(), command);
    expect_reply(control.get(), "200");
    send_line(control.get(), std::string("RETR ") + argv[3]);
    expect_reply(control.get(), "150");

    // With an address buffer: socksify's accept() crashes on a null one.
    sockaddr_in peer{};
    socklen_t peer_size = sizeof peer;
    Socket transfer(::accept(data.get(), reinterpret_cast<sockaddr*>(&peer), &peer_size));
    if (transfer.get() < 0) fail_errno("accept");
    set_timeout(transfer.get());
    char buffer[65536];
    for (;;) {
        ssize_t n = ::recv(transfer.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_errno("recv (data)");
        if (n == 0) break;
        std::fwrite(buffer, 1, static_cast<std::size_t>(n), stdout);
    }
    std::fflush(stdout);
    expect_reply(control.get(), "226");
    send_line(control.get(), "QUIT");
    expect_reply(control.get(), "221");
    return 0;
}
