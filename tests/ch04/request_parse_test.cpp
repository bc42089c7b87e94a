// Chapter 04's pure functions: parse_request/parse_address over every kind of
// bad input, serialize_reply's exact bytes, and the errno -> REP table.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "capture.hpp"
#include "connect.hpp"
#include "dial.hpp"
#include "helpers.hpp"
#include "request.hpp"
#include "target.hpp"

namespace socks {
namespace {

using namespace std::chrono_literals;
using test::hex;
using test::to_hex;

Parsed<Request> parse(const Bytes& bytes) {
    return parse_request(ByteView(bytes));
}

// The parser's answer for `bytes`, in words, for failure messages and tables.
std::string outcome(const Parsed<Request>& parsed) {
    if (auto* more = std::get_if<NeedMore>(&parsed)) {
        return "NeedMore{" + std::to_string(more->bytes) + "}";
    }
    if (auto* error = std::get_if<ParseError>(&parsed)) {
        char reply[16] = "no reply";
        if (error->reply) std::snprintf(reply, sizeof reply, "reply %02x", *error->reply);
        return "ParseError{" + error->reason + ", " + reply + "}";
    }
    return "Request";
}

// Every prefix of a valid request must ask for more, and for exactly the
// bytes the next step needs: first the 4-byte head (VER CMD RSV ATYP), for a
// domain the length byte, then the rest of the message, never past its end.
std::size_t expected_need(const Bytes& message, std::size_t have) {
    if (have == 0) return 4;
    if (have < 4) return 4 - have;
    if (message[3] == 0x03 && have == 4) return 1;
    return message.size() - have;
}

void expect_every_truncation_needs_more(const Bytes& message) {
    for (std::size_t have = 0; have < message.size(); ++have) {
        Bytes prefix(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(have));
        auto parsed = parse(prefix);
        auto* more = std::get_if<NeedMore>(&parsed);
        ASSERT_NE(more, nullptr) << "after " << have << " of " << message.size() << " bytes ["
                                 << to_hex(prefix) << "]: " << outcome(parsed);
        EXPECT_EQ(more->bytes, expected_need(message, have))
            << "after " << have << " bytes [" << to_hex(prefix) << "]";
        EXPECT_LE(have + more->bytes, message.size())
            << "asked to read past the end of the message after " << have << " bytes";
    }
    EXPECT_TRUE(std::holds_alternative<Request>(parse(message))) << to_hex(message);
}

TEST(ParseRequest, EveryTruncationOfAnIpv4RequestNeedsMore) {
    Bytes message = hex("05 01 00 01 7f 00 00 01 1f 90");
    expect_every_truncation_needs_more(message);
    // Spelled out, as read_message sees it: 4, then 6.
    EXPECT_EQ(std::get<NeedMore>(parse({})).bytes, 4u);
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05"))).bytes, 3u);
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 01"))).bytes, 6u);
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 01 7f 00 00 01 1f"))).bytes, 1u);
}

TEST(ParseRequest, EveryTruncationOfADomainRequestNeedsMore) {
    Bytes message = hex("05 01 00 03 09 \"localhost\" 1f 90");
    expect_every_truncation_needs_more(message);
    // 4, then the length byte, then 9 + 2.
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 03"))).bytes, 1u);
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 03 09"))).bytes, 11u);
}

TEST(ParseRequest, EveryTruncationOfAnIpv6RequestNeedsMore) {
    Bytes message = test::ipv6_loopback_request(8080);
    ASSERT_EQ(message.size(), 22u);
    expect_every_truncation_needs_more(message);
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 04"))).bytes, 18u);
}

TEST(ParseRequest, Ipv4RequestFields) {
    auto parsed = parse(hex("05 01 00 01 7f 00 00 01 1f 90"));
    ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << outcome(parsed);
    const Request& request = std::get<Request>(parsed);
    EXPECT_EQ(request.command, Command::Connect);
    EXPECT_EQ(request.destination.type, AddressType::IPv4);
    EXPECT_EQ(request.destination.host(), "127.0.0.1");
    EXPECT_EQ(request.destination.port, 8080) << "DST.PORT 1f 90 is network order: 0x1f90 = 8080";
    EXPECT_EQ(request.destination.to_string(), "127.0.0.1:8080");
}

TEST(ParseRequest, PortIsNetworkOrder) {
    EXPECT_EQ(std::get<Request>(parse(test::ipv4_request(0x0050))).destination.port, 80);
    EXPECT_EQ(std::get<Request>(parse(hex("05 01 00 01 7f 00 00 01 01 bb"))).destination.port, 443);
    EXPECT_EQ(std::get<Request>(parse(hex("05 01 00 01 7f 00 00 01 ff fe"))).destination.port,
              65534);
}

TEST(ParseRequest, DomainRequestFields) {
    auto parsed = parse(hex("05 01 00 03 09 \"localhost\" 00 50"));
    ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << outcome(parsed);
    const Address& destination = std::get<Request>(parsed).destination;
    EXPECT_EQ(destination.type, AddressType::DomainName);
    EXPECT_EQ(destination.domain, "localhost");
    EXPECT_EQ(destination.port, 80);
    EXPECT_EQ(destination.to_string(), "localhost:80");
}

TEST(ParseRequest, Ipv6RequestFields) {
    auto parsed = parse(test::ipv6_loopback_request(443));
    ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << outcome(parsed);
    const Address& destination = std::get<Request>(parsed).destination;
    EXPECT_EQ(destination.type, AddressType::IPv6);
    EXPECT_EQ(destination.host(), "::1");
    EXPECT_EQ(destination.to_string(), "[::1]:443");
}

TEST(ParseRequest, AcceptsA255ByteDomain) {
    std::string name(255, 'a');
    for (std::size_t i = 63; i < name.size(); i += 64)
        name[i] = '.';
    Bytes message = test::domain_request(name, 80);
    ASSERT_EQ(message.size(), 4u + 1 + 255 + 2);
    EXPECT_EQ(message[4], 0xff);
    auto parsed = parse(message);
    ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << outcome(parsed);
    EXPECT_EQ(std::get<Request>(parsed).destination.domain, name);
    EXPECT_EQ(std::get<Request>(parsed).destination.port, 80);
    // One byte short still asks for exactly one more.
    message.pop_back();
    EXPECT_EQ(std::get<NeedMore>(parse(message)).bytes, 1u);
}

TEST(ParseRequest, WrongVersionClosesWithoutAReply) {
    for (const char* bytes : {"04", "04 01 00 01 7f 00 00 01 00 50", "00", "ff 01 00 01"}) {
        auto parsed = parse(hex(bytes));
        auto* error = std::get_if<ParseError>(&parsed);
        ASSERT_NE(error, nullptr) << bytes << ": " << outcome(parsed);
        EXPECT_FALSE(error->reply) << bytes << ": a request with the wrong VER gets no reply";
    }
}

TEST(ParseRequest, UnknownAddressTypeIsReplied08) {
    for (std::uint8_t atyp : Bytes{0x00, 0x02, 0x05, 0xff}) {
        Bytes head{0x05, 0x01, 0x00, atyp};
        auto parsed = parse(head);
        auto* error = std::get_if<ParseError>(&parsed);
        ASSERT_NE(error, nullptr) << "ATYP " << to_hex(ByteView(&atyp, 1)) << ": "
                                  << outcome(parsed);
        ASSERT_TRUE(error->reply);
        EXPECT_EQ(*error->reply, 0x08) << "ATYP " << to_hex(ByteView(&atyp, 1));

        std::size_t size = 99;
        auto address = parse_address(ByteView(&atyp, 1), size);
        ASSERT_TRUE(std::holds_alternative<ParseError>(address));
        EXPECT_EQ(std::get<ParseError>(address).reply, std::optional<std::uint8_t>(0x08));
    }
}

TEST(ParseRequest, EmptyDomainIsReplied04AfterTheWholeMessage) {
    Bytes message = hex("05 01 00 03 00 00 50");
    for (std::size_t have = 0; have < message.size(); ++have) {
        Bytes prefix(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(have));
        EXPECT_TRUE(std::holds_alternative<NeedMore>(parse(prefix)))
            << "after " << have << " bytes: " << outcome(parse(prefix));
    }
    EXPECT_EQ(std::get<NeedMore>(parse(hex("05 01 00 03 00"))).bytes, 2u);
    auto parsed = parse(message);
    auto* error = std::get_if<ParseError>(&parsed);
    ASSERT_NE(error, nullptr) << outcome(parsed);
    EXPECT_EQ(error->reply, std::optional<std::uint8_t>(0x04));
}

TEST(ParseRequest, UnknownCommandsStillParse) {
    // The server must read the whole request before it answers 07.
    for (std::uint8_t command : Bytes{0x00, 0x02, 0x03, 0x04, 0xff}) {
        auto parsed = parse(test::ipv4_request(80, command));
        ASSERT_TRUE(std::holds_alternative<Request>(parsed))
            << "CMD " << to_hex(ByteView(&command, 1)) << ": " << outcome(parsed);
        EXPECT_EQ(static_cast<std::uint8_t>(std::get<Request>(parsed).command), command);
    }
    EXPECT_EQ(command_name(Command::Bind), "BIND");
    EXPECT_EQ(command_name(Command::UdpAssociate), "UDP ASSOCIATE");
    EXPECT_EQ(command_name(static_cast<Command>(0x04)), "CMD 04");
}

TEST(ParseRequest, TrailingBytesAreNotPartOfTheRequest) {
    Bytes message = hex("05 01 00 03 09 \"localhost\" 00 50 \"GET / HTTP/1.1\\r\\n\"");
    auto parsed = parse(message);
    ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << outcome(parsed);
    EXPECT_EQ(std::get<Request>(parsed).destination.domain, "localhost");
    EXPECT_EQ(std::get<Request>(parsed).destination.port, 80);

    std::size_t size = 0;
    Bytes address = hex("01 7f 00 00 01 00 50 de ad be ef");
    ASSERT_TRUE(std::holds_alternative<Address>(parse_address(ByteView(address), size)));
    EXPECT_EQ(size, 7u) << "parse_address reports the bytes it used, not the bytes it was given";
}

TEST(ParseRequest, ReadMessageLeavesWhatFollowsTheRequestInTheSocket) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Fd reader(fds[0]), writer(fds[1]);
    set_receive_timeout(reader, 5s);
    // curl writes its HTTP request right behind the CONNECT.
    write_all(writer, hex("05 01 00 01 7f 00 00 01 00 50 \"GET /\""));
    Bytes bytes;
    auto received = read_message<Request>(reader, parse_request, bytes);
    ASSERT_TRUE(std::holds_alternative<Request>(received));
    EXPECT_EQ(to_hex(bytes), "05 01 00 01 7f 00 00 01 00 50");
    Bytes rest(5);
    ASSERT_TRUE(read_exact(reader, rest));
    EXPECT_EQ(std::string(rest.begin(), rest.end()), "GET /");
}

TEST(SerializeReply, Ipv4Bound) {
    Address bound;
    bound.type = AddressType::IPv4;
    bound.ip = {127, 0, 0, 1};
    bound.port = 8080;
    EXPECT_EQ(to_hex(serialize_reply(ReplyCode::Succeeded, bound)),
              "05 00 00 01 7f 00 00 01 1f 90");
}

TEST(SerializeReply, Ipv6Bound) {
    Address bound;
    bound.type = AddressType::IPv6;
    bound.ip[15] = 1;
    bound.port = 443;
    EXPECT_EQ(to_hex(serialize_reply(ReplyCode::Succeeded, bound)),
              "05 00 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 01 bb");
}

TEST(SerializeReply, FailureIsAFullTenByteReply) {
    EXPECT_EQ(to_hex(serialize_reply(ReplyCode::ConnectionRefused)),
              "05 05 00 01 00 00 00 00 00 00");
    for (std::uint8_t code = 0x01; code <= 0x08; ++code) {
        Bytes reply = serialize_reply(static_cast<ReplyCode>(code));
        ASSERT_EQ(reply.size(), 10u) << "REP " << int{code};
        EXPECT_EQ(reply[1], code);
        EXPECT_EQ(reply[3], 0x01) << "ATYP of a failure reply";
    }
}

TEST(SerializeReply, AddressRoundTripsThroughParseAddress) {
    Address name;
    name.type = AddressType::DomainName;
    name.domain = "example.test";
    name.port = 65535;
    Bytes bytes;
    serialize_address(name, bytes);
    EXPECT_EQ(to_hex(bytes), to_hex(hex("03 0c \"example.test\" ff ff")));
    std::size_t size = 0;
    auto parsed = parse_address(ByteView(bytes), size);
    ASSERT_TRUE(std::holds_alternative<Address>(parsed));
    EXPECT_EQ(std::get<Address>(parsed).to_string(), "example.test:65535");
    EXPECT_EQ(size, bytes.size());
}

TEST(SerializeReply, AddressFromASocketAddress) {
    Fd listener = listen_tcp({"::1", 0});
    Address v6 = address_from(local_address(listener));
    EXPECT_EQ(v6.type, AddressType::IPv6);
    EXPECT_EQ(v6.host(), "::1");
    EXPECT_EQ(v6.port, local_address(listener).port());
    Fd listener4 = listen_tcp({"127.0.0.1", 0});
    Address v4 = address_from(local_address(listener4));
    EXPECT_EQ(v4.type, AddressType::IPv4);
    EXPECT_EQ(v4.to_string(), local_address(listener4).to_string());
}

TEST(ReplyCodeForErrno, MapsConnectErrorsToTheRfcCodes) {
    struct Row {
        int error;
        std::uint8_t reply;
        const char* why;
    };
    const Row rows[] = {
        {ECONNREFUSED, 0x05, "the target host answered with RST"},
        {ENETUNREACH, 0x03, "no route to the network"},
        {ENETDOWN, 0x03, "the local network is down"},
        {EHOSTUNREACH, 0x04, "ICMP host unreachable (also time exceeded)"},
        {EHOSTDOWN, 0x04, "the host is down"},
        {ETIMEDOUT, 0x04, "the host never answered: our connect deadline"},
        {EACCES, 0x02, "a local firewall rule refused it"},
        {EPERM, 0x02, "a local firewall rule refused it"},
        {EIO, 0x01, "anything else is a general failure"},
        {ENOMEM, 0x01, "anything else is a general failure"},
        {EADDRNOTAVAIL, 0x01, "anything else is a general failure"},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(static_cast<int>(reply_code_for_errno(row.error)), row.reply)
            << std::strerror(row.error) << ": " << row.why;
    }
}

TEST(Resolve, InvalidNamesFailAtOnceWithHostUnreachable) {
    for (const char* name : {"bad.invalid", "BAD.INVALID", "a.b.invalid.", "invalid"}) {
        Address destination;
        destination.type = AddressType::DomainName;
        destination.domain = name;
        destination.port = 80;
        Resolved resolved = resolve(destination);
        EXPECT_TRUE(resolved.addresses.empty()) << name;
        EXPECT_EQ(resolved.failure, ReplyCode::HostUnreachable) << name;
        EXPECT_NE(resolved.detail.find(name), std::string::npos) << resolved.detail;
    }
}

TEST(Resolve, LiteralsAreUsedAsTheyAreAndLocalhostResolves) {
    auto literal = std::get<Request>(parse(test::ipv6_loopback_request(8080))).destination;
    Resolved v6 = resolve(literal);
    ASSERT_EQ(v6.addresses.size(), 1u);
    EXPECT_EQ(v6.addresses[0].to_string(), "[::1]:8080");

    Address localhost;
    localhost.type = AddressType::DomainName;
    localhost.domain = "localhost";
    localhost.port = 8080;
    Resolved named = resolve(localhost);
    ASSERT_FALSE(named.addresses.empty()) << named.detail;
    for (const SocketAddress& address : named.addresses) {
        EXPECT_TRUE(address.host() == "127.0.0.1" || address.host() == "::1") << address.host();
        EXPECT_EQ(address.port(), 8080);
    }
}

TEST(HangUp, SendsFinAtOnceThenDrainsUntilTheClientCloses) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Fd server_end(fds[0]), client(fds[1]);
    set_receive_timeout(client, 5s);
    // Bytes the server never read, like curl's HTTP request behind the CONNECT.
    write_all(client, std::string_view("GET / HTTP/1.1\r\n\r\n"));
    auto done = std::async(std::launch::async, [&] { hang_up(server_end, 5s); });
    std::uint8_t buffer[16];
    EXPECT_EQ(read_some(client, buffer), 0u) << "the client must see the end of stream (FIN)";
    EXPECT_EQ(done.wait_for(0s), std::future_status::timeout)
        << "hang_up returned while the client was still open";
    client = Fd();  // the client hangs up too
    EXPECT_EQ(done.wait_for(5s), std::future_status::ready);
}

TEST(HangUp, GivesUpOnAClientThatNeverCloses) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Fd server_end(fds[0]), client(fds[1]);
    auto done = std::async(std::launch::async, [&] { hang_up(server_end, 100ms); });
    EXPECT_EQ(done.wait_for(10s), std::future_status::ready);
}

TEST(ConnectFirst, RefusedPortGives05AndALiveTargetConnects) {
    std::uint16_t closed = test::closed_port();
    auto target = test::echo_target();
    Address refused = std::get<Request>(parse(test::ipv4_request(closed))).destination;
    Address live = std::get<Request>(parse(test::ipv4_request(target.port()))).destination;

    Dialed failed = connect_first(resolve(refused).addresses, 5000ms);
    EXPECT_EQ(failed.code, ReplyCode::ConnectionRefused) << failed.detail;
    EXPECT_FALSE(failed.socket);
    EXPECT_NE(failed.detail.find("Connection refused"), std::string::npos) << failed.detail;

    // Refused first, then the live one: the first success wins.
    std::vector<SocketAddress> both = resolve(refused).addresses;
    both.push_back(resolve(live).addresses.front());
    Dialed dialed = connect_first(both, 5000ms);
    ASSERT_EQ(dialed.code, ReplyCode::Succeeded) << dialed.detail;
    EXPECT_EQ(peer_address(dialed.socket).port(), target.port());
    // The socket is blocking again and really connected: the target echoes.
    set_receive_timeout(dialed.socket, 5s);
    write_all(dialed.socket, std::string_view("ping"));
    Bytes echoed(4);
    ASSERT_TRUE(read_exact(dialed.socket, echoed));
    EXPECT_EQ(std::string(echoed.begin(), echoed.end()), "ping");

    Dialed nothing = connect_first({}, 5000ms);
    EXPECT_NE(nothing.code, ReplyCode::Succeeded);
}

}  // namespace
}  // namespace socks
