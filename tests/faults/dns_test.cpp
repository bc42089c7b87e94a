// DNS servers that never answer (issue 18: "DNS lookups ignore the server's own
// timeouts"). This program runs under tests/support/isolated-net --own-dns: a
// network namespace with only loopback, where /etc/resolv.conf names 127.0.0.1
// (30 s timeout, one attempt). The test binds 127.0.0.1:53 and reads the
// queries, never answering, so without a deadline of its own a lookup would
// hold its session for 30 s.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "helpers.hpp"

namespace socks::faults {
namespace {

class SilentDnsServer {
  public:
    SilentDnsServer() : socket_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(53);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
            throw_errno("bind 127.0.0.1:53 (run this program through isolated-net --own-dns)");
        set_receive_timeout(socket_, 10s);
    }
    // Reads queries (bounded: 10 s each) until one asks for `name`; false if
    // none did. A query's QNAME holds the name's labels, length-prefixed.
    bool asked_for(const std::string& label) {
        for (;;) {
            char query[512];
            ssize_t n = ::recv(socket_.get(), query, sizeof query, 0);
            if (n <= 0) return false;
            std::string text(query, static_cast<std::size_t>(n));
            seen_ += text;
            if (text.find(label) != std::string::npos) return true;
        }
    }
    // Whether any query read so far, or waiting now, names `label`.
    bool ever_asked_for(const std::string& label) {
        char query[512];
        ssize_t n;
        while ((n = ::recv(socket_.get(), query, sizeof query, MSG_DONTWAIT)) > 0)
            seen_.append(query, static_cast<std::size_t>(n));
        return seen_.find(label) != std::string::npos;
    }

  private:
    Fd socket_;
    std::string seen_;
};

TEST(SecurityDns, ASilentDnsServerGetsReply4AtTheConnectTimeout) {
    SilentDnsServer dns;
    ServerProcess proxy(kServer, {"--connect-timeout", "0.5"});
    // The client's socket gives up after 10 s; the resolver would wait 30 s.
    Session session = socks5(proxy.endpoint(), request_domain("silent-one.example", 80));
    EXPECT_EQ(session.reply, 0x04) << proxy.log();
    EXPECT_TRUE(dns.asked_for("silent-one")) << "the lookup never reached the DNS server";
    EXPECT_TRUE(
        proxy.wait_for_log("resolve silent-one.example: no answer from the DNS server "
                           "within 500 ms (--connect-timeout)"))
        << proxy.log();
}

TEST(SecurityDns, LateLookupsAreBoundedAndTheServerGoesOn) {
    CountingTarget echo;
    SilentDnsServer dns;
    // At most two lookups at once, late ones included.
    ServerProcess proxy(kServer, {"--connect-timeout", "0.5", "--max-lookups", "2"});
    for (const char* name : {"late-one", "late-two"}) {
        Session late = socks5(proxy.endpoint(), request_domain(std::string(name) + ".example", 80));
        EXPECT_EQ(late.reply, 0x04) << name << "\n" << proxy.log();
        EXPECT_TRUE(dns.asked_for(name)) << name;
    }
    // Both lookups still wait for the DNS server (30 s): a third name is
    // answered at once, without a lookup.
    Session third = socks5(proxy.endpoint(), request_domain("late-three.example", 80));
    EXPECT_EQ(third.reply, 0x04) << proxy.log();
    EXPECT_TRUE(
        proxy.wait_for_log("resolve late-three.example: 2 lookups are already waiting "
                           "for the DNS server"))
        << proxy.log();
    EXPECT_FALSE(dns.ever_asked_for("late-three")) << "a third lookup was started";
    // The late lookups hold no session: addresses still work.
    EXPECT_TRUE(control_client_served(proxy.endpoint(), echo.port())) << proxy.log();
    EXPECT_EQ(proxy.stop(), 0) << proxy.log();
}

TEST(SecurityDns, ANameFromTheHostsFileIsResolvedOnItsThreadAndUsed) {
    CountingTarget echo;
    SilentDnsServer dns;
    ServerProcess proxy(kServer, {"--connect-timeout", "0.5"});
    // localhost is in /etc/hosts: answered without the DNS server, on time.
    Session session = socks5(proxy.endpoint(), request_domain("localhost", echo.port()));
    ASSERT_EQ(session.reply, 0x00) << proxy.log();
    EXPECT_EQ(round_trip(session.socket, "through a name"), "through a name");
    EXPECT_EQ(echo.accepted(), 1);
}

}  // namespace
}  // namespace socks::faults
