// The real socks5-request program against real loopback targets: every reply
// code it can produce, the BND address it reports, and that one bad client
// never stops the next one from being served.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <optional>

#include "capture.hpp"
#include "echo.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::Answer;
using test::hex;
using test::ServerProcess;
using test::to_hex;

std::string describe(const Answer& answer) {
    return "[" + to_hex(answer.bytes) + "]" + (answer.closed ? " then close" : " and no close") +
           (answer.error.empty() ? "" : " (" + answer.error + ")");
}

// A CONNECT through the server to a live echo target succeeds, and the server closes.
void expect_still_serving(const ServerProcess& server, std::uint16_t target_port) {
    Answer control = test::request_answer(server.endpoint(), test::ipv4_request(target_port));
    ASSERT_EQ(control.bytes.size(), 10u) << "control client: " << describe(control);
    EXPECT_EQ(control.bytes[1], 0x00) << "control client: " << describe(control);
    EXPECT_TRUE(control.closed) << "control client: " << describe(control);
}

struct BadRequest {
    const char* what;
    Bytes request;
    std::string answer;  // hex of the whole answer before the close
    const char* log;     // a piece of the log line that says why
};

TEST(RequestProgram, EveryBadRequestGetsItsReplyThenACloseAndOthersAreStillServed) {
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    std::uint16_t closed = test::closed_port();
    std::string refused = "05 05 00 01 00 00 00 00 00 00";
    const BadRequest rows[] = {
        {"closed port", test::ipv4_request(closed), refused, "connection refused"},
        {"closed port on ::1", test::ipv6_loopback_request(closed), refused, "connection refused"},
        {"unresolvable bad.invalid", test::domain_request("bad.invalid", 80),
         "05 04 00 01 00 00 00 00 00 00", "host unreachable"},
        {"BIND", test::ipv4_request(target.port(), 0x02), "05 07 00 01 00 00 00 00 00 00",
         "BIND 127.0.0.1"},
        {"UDP ASSOCIATE", hex("05 03 00 01 00 00 00 00 00 00"), "05 07 00 01 00 00 00 00 00 00",
         "UDP ASSOCIATE 0.0.0.0:0"},
        {"unknown CMD 00", test::ipv4_request(target.port(), 0x00), "05 07 00 01 00 00 00 00 00 00",
         "CMD 00"},
        {"unknown CMD 04", test::domain_request("localhost", target.port(), 0x04),
         "05 07 00 01 00 00 00 00 00 00", "CMD 04"},
        {"unknown CMD ff", test::ipv4_request(target.port(), 0xff), "05 07 00 01 00 00 00 00 00 00",
         "CMD ff"},
        {"unknown ATYP 00", hex("05 01 00 00 7f 00 00 01 00 50"), "05 08 00 01 00 00 00 00 00 00",
         "ATYP 00"},
        {"unknown ATYP 02", hex("05 01 00 02 7f 00 00 01 00 50"), "05 08 00 01 00 00 00 00 00 00",
         "ATYP 02"},
        {"unknown ATYP 05", hex("05 01 00 05 7f 00 00 01 00 50"), "05 08 00 01 00 00 00 00 00 00",
         "ATYP 05"},
        {"unknown ATYP ff", hex("05 01 00 ff"), "05 08 00 01 00 00 00 00 00 00", "ATYP ff"},
        {"empty domain name", hex("05 01 00 03 00 00 50"), "05 04 00 01 00 00 00 00 00 00",
         "empty domain"},
        {"wrong VER", hex("04 01 00 01 7f 00 00 01 00 50"), "", "request VER is 04"},
    };
    for (const BadRequest& row : rows) {
        SCOPED_TRACE(std::string(row.what) + ": request " + to_hex(row.request));
        Answer answer = test::request_answer(server.endpoint(), row.request);
        EXPECT_EQ(to_hex(answer.bytes), row.answer) << describe(answer);
        EXPECT_TRUE(answer.closed) << describe(answer);
        EXPECT_EQ(answer.error, "") << "closed with a reset, not a FIN: clients such as nc then "
                                       "lose the reply";
        EXPECT_TRUE(server.wait_for_log(row.log, 5s)) << server.log();
        expect_still_serving(server, target.port());
    }
    EXPECT_TRUE(server.running());
}

TEST(RequestProgram, UnknownCommandIsAnsweredOnlyAfterTheWholeRequest) {
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    Fd client = test::connect_client(server.endpoint());
    write_all(client, hex("05 01 00"));
    Bytes method(2);
    ASSERT_TRUE(read_exact(client, method));
    // All but the last byte of a BIND request: the server must still wait.
    Bytes request = test::ipv4_request(target.port(), 0x02);
    write_all(client, ByteView(request).first(request.size() - 1));
    // Nothing may arrive (a receive timeout, not a sleep: the test never waits
    // longer than this, and a correct server never answers here).
    std::uint8_t early[16];
    set_receive_timeout(client, 300ms);
    EXPECT_THROW(read_some(client, early), std::system_error)
        << "the server answered before the request was complete";
    set_receive_timeout(client, 5s);
    write_all(client, ByteView(request).last(1));
    Answer answer = test::read_until_close(client);
    EXPECT_EQ(to_hex(answer.bytes), "05 07 00 01 00 00 00 00 00 00") << describe(answer);
}

TEST(RequestProgram, ATruncatedRequestEndsTheSessionWithoutAReply) {
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    Fd client = test::connect_client(server.endpoint());
    write_all(client, hex("05 01 00"));
    Bytes method(2);
    ASSERT_TRUE(read_exact(client, method));
    write_all(client, hex("05 01 00 01 7f 00"));
    ::shutdown(client.get(), SHUT_WR);
    Answer answer = test::read_until_close(client);
    EXPECT_TRUE(answer.bytes.empty()) << describe(answer);
    EXPECT_TRUE(answer.closed) << describe(answer);
    EXPECT_TRUE(
        server.wait_for_log("bad request: connection closed after 6 bytes of a message", 5s))
        << server.log();
    expect_still_serving(server, target.port());
}

// nc writes the greeting and the whole request at once. After an unknown ATYP
// the server has read only 4 bytes of it; closing then would send RST, and nc
// prints nothing at all. The server must send FIN and let nc read the reply.
TEST(RequestProgram, NcSeesTheReplyToAnUnknownAddressType) {
    ASSERT_TRUE(test::have_program("nc")) << "nc (netcat-openbsd) is required";
    ServerProcess server(test::kRequestProgram);
    Bytes input = hex("05 01 00 05 01 00 05 7f 00 00 01 1f 40");
    auto result = test::run_command(
        {"nc", "-N", "127.0.0.1", std::to_string(server.port())},
        std::string_view(reinterpret_cast<const char*>(input.data()), input.size()), 20s);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    Bytes out(result.out.begin(), result.out.end());
    EXPECT_EQ(to_hex(out), "05 00 05 08 00 01 00 00 00 00 00 00")
        << "reproduce: printf '\\x05\\x01\\x00\\x05\\x01\\x00\\x05\\x7f\\x00\\x00\\x01"
           "\\x1f\\x40' | nc -N 127.0.0.1 1080 | xxd";
}

// A target that records the peer address of every connection it accepts:
// what it sees is the proxy's outgoing address, which BND must equal.
class PeerRecorder {
  public:
    ConnectionHandler handler() {
        return [this](const Fd&, const SocketAddress& peer) {
            std::lock_guard lock(mutex_);
            peers_.push_back(peer);
            arrived_.notify_all();
        };
    }
    std::optional<SocketAddress> first(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!arrived_.wait_for(lock, timeout, [&] { return !peers_.empty(); })) return {};
        return peers_.front();
    }

  private:
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<SocketAddress> peers_;
};

struct Bound {
    std::string host;
    std::uint16_t port;
};
// BND.ADDR and BND.PORT of a successful reply, decoded here without the chapter's code.
std::optional<Bound> bound_in(const Bytes& reply) {
    char text[INET6_ADDRSTRLEN] = "";
    if (reply.size() == 10 && reply[3] == 0x01) {
        ::inet_ntop(AF_INET, reply.data() + 4, text, sizeof text);
    } else if (reply.size() == 22 && reply[3] == 0x04) {
        ::inet_ntop(AF_INET6, reply.data() + 4, text, sizeof text);
    } else {
        return std::nullopt;
    }
    std::size_t at = reply.size() - 2;
    return Bound{text, static_cast<std::uint16_t>(reply[at] << 8 | reply[at + 1])};
}

void expect_bnd_is_the_outgoing_address(const std::string& target_host, const Bytes& request_for,
                                        std::uint8_t expected_atyp) {
    ServerProcess server(test::kRequestProgram);
    PeerRecorder recorder;
    test::BackgroundServer target(recorder.handler(), target_host);
    Bytes request = request_for;
    request[request.size() - 2] = static_cast<std::uint8_t>(target.port() >> 8);
    request[request.size() - 1] = static_cast<std::uint8_t>(target.port() & 0xFF);

    Answer answer = test::request_answer(server.endpoint(), request);
    ASSERT_GE(answer.bytes.size(), 4u) << describe(answer);
    EXPECT_EQ(answer.bytes[1], 0x00) << describe(answer) << "\n" << server.log();
    EXPECT_EQ(answer.bytes[3], expected_atyp) << describe(answer);
    EXPECT_TRUE(answer.closed) << "chapter 04 closes after the reply: " << describe(answer);
    auto bound = bound_in(answer.bytes);
    ASSERT_TRUE(bound) << "not a whole success reply: " << describe(answer);

    auto peer = recorder.first(5s);
    ASSERT_TRUE(peer) << "the target saw no connection";
    EXPECT_EQ(bound->host, peer->host()) << "BND.ADDR must be the proxy's outgoing address";
    EXPECT_EQ(bound->port, peer->port()) << "BND.PORT must be the proxy's outgoing port";
    EXPECT_NE(bound->port, 0);
    EXPECT_TRUE(server.wait_for_log("succeeded via " + peer->to_string(), 5s)) << server.log();
}

TEST(RequestProgram, BndIsTheRealOutgoingAddressIpv4) {
    expect_bnd_is_the_outgoing_address("127.0.0.1", test::ipv4_request(0), 0x01);
}

TEST(RequestProgram, BndIsTheRealOutgoingAddressIpv6) {
    expect_bnd_is_the_outgoing_address("::1", test::ipv6_loopback_request(0), 0x04);
}

TEST(RequestProgram, BndIsTheRealOutgoingAddressForADomainName) {
    // localhost is 127.0.0.1 in /etc/hosts; a name the proxy resolves itself.
    expect_bnd_is_the_outgoing_address("127.0.0.1", test::domain_request("localhost", 0), 0x01);
}

TEST(RequestProgram, SuccessIsLoggedWithTheDestinationAsTheClientWroteIt) {
    ServerProcess server(test::kRequestProgram);
    auto target = test::echo_target();
    Answer answer =
        test::request_answer(server.endpoint(), test::domain_request("localhost", target.port()));
    ASSERT_EQ(answer.bytes.size(), 10u) << describe(answer);
    EXPECT_EQ(answer.bytes[1], 0x00);
    EXPECT_TRUE(server.wait_for_log(
        "CONNECT localhost:" + std::to_string(target.port()) + ": succeeded via 127.0.0.1:", 5s))
        << server.log();
}

// Every refusal this program can send, with the client's next bytes (curl's
// HTTP request, the rest of a request) already queued behind the refused
// message: the whole reply, then FIN, in every one of 200 runs.
TEST(RequestProgram, EveryRefusalArrivesWholeWhenBytesArePipelinedBehindIt) {
    ServerProcess server(test::kRequestProgram, {"--user", "alice:secret"});
    std::uint16_t closed = test::closed_port();
    for (const auto& [what, text] : test::request_refusals()) {
        EXPECT_TRUE(test::replay_repeatedly(test::parse_capture(text, what), server.endpoint(), 200,
                                            closed))
            << server.log();
    }
}

// --trace: the request and the reply field by field.
TEST(RequestProgram, TraceShowsTheRequestAndTheReplyFieldByField) {
    ServerProcess server(test::kRequestProgram, {"--trace"});
    std::uint16_t closed = test::closed_port();
    Answer answer = test::request_answer(server.endpoint(), test::ipv4_request(closed));
    EXPECT_EQ(to_hex(answer.bytes), "05 05 00 01 00 00 00 00 00 00") << describe(answer);
    char port[8];
    std::snprintf(port, sizeof port, "%02x %02x", closed >> 8, closed & 0xff);
    EXPECT_TRUE(server.wait_for_log(
        std::string(" C> request (10 bytes)\n"
                    "    05                          VER        5\n"
                    "    01                          CMD        CONNECT\n"
                    "    00                          RSV        \n"
                    "    01                          ATYP       IPv4\n"
                    "    7f 00 00 01                 DST.ADDR   127.0.0.1\n"
                    "    ") +
        port + "                       DST.PORT   " + std::to_string(closed) + "\n"))
        << server.log();
    EXPECT_TRUE(
        server.wait_for_log(" S> reply (10 bytes)\n"
                            "    05                          VER        5\n"
                            "    05                          REP        connection refused\n"))
        << server.log();
}

}  // namespace
}  // namespace socks
