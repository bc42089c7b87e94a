// --trace: every SOCKS message of a session as annotated hex, field by field.
// The text is compared exactly; only what changes from run to run (time
// stamps, the client's port, BND.PORT and the target's port) is masked.
#include <gtest/gtest.h>

#include <regex>

#include "capture.hpp"
#include "helpers.hpp"

namespace socks::ch06 {
namespace {

using test::hex;
using test::to_hex;

// Replaces every occurrence of `from` in `text` by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// The log's trace entries (each is one log line followed by its field lines),
// with the time stamps cut off.
std::string trace_text(const std::string& log) {
    std::string out;
    std::istringstream lines(log);
    bool in_trace = false;
    static const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\w+) (.*)$)");
    for (std::string line; std::getline(lines, line);) {
        std::smatch match;
        if (std::regex_match(line, match, stamp)) {
            in_trace = match[2].str().starts_with("trace ");
            if (in_trace) out += match[1].str() + " " + match[2].str() + "\n";
        } else if (in_trace) {
            out += line + "\n";
        }
    }
    return out;
}

// "hh hh" for a port, as the trace shows it.
std::string port_hex(std::uint16_t port) {
    return to_hex(Bytes{static_cast<std::uint8_t>(port >> 8), static_cast<std::uint8_t>(port)});
}

// The field lines are "    %-27s %-10s %s": hex, name, meaning.
std::string field(const std::string& hex_text, const std::string& name,
                  const std::string& meaning) {
    char line[160];
    std::snprintf(line, sizeof line, "    %-27s %-10s %s\n", hex_text.c_str(), name.c_str(),
                  meaning.c_str());
    return line;
}

TEST(Trace, ShowsEveryMessageOfASessionFieldByField) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--trace"});
    Fd client = test::connect_client(proxy.endpoint());
    write_all(client, hex("05 02 00 01"));
    ASSERT_EQ(to_hex(read_up_to(client, 2)), "05 00");
    write_all(client, socks5_request_ip("127.0.0.1", echo.port()));
    Bytes reply = read_up_to(client, 10);
    ASSERT_EQ(reply.size(), 10u);
    ASSERT_EQ(reply[1], 0x00);
    const std::uint16_t bound_port = static_cast<std::uint16_t>(reply[8] << 8 | reply[9]);
    const std::uint16_t client_port = local_address(client).port();
    client = Fd();
    access(proxy, 1);

    std::string text = trace_text(proxy.log());
    text = replace_all(text, "127.0.0.1:" + std::to_string(client_port) + " ", "PEER ");
    text = replace_all(text, port_hex(echo.port()) + " ", "TP TP ");
    text = replace_all(text, port_hex(bound_port) + " ", "BP BP ");
    // The decimal ports in the meaning column, each on its own field line.
    text = replace_all(text, " " + std::to_string(echo.port()) + "\n", " TARGET-PORT\n");
    text = replace_all(text, " " + std::to_string(bound_port) + "\n", " BND-PORT\n");

    const std::string expected =
        "INFO trace PEER C> greeting (4 bytes)\n" + field("05", "VER", "5") +
        field("02", "NMETHODS", "2") +
        field("00 01", "METHODS", "NO AUTHENTICATION REQUIRED, GSSAPI") +
        "INFO trace PEER S> method-selection (2 bytes)\n" + field("05", "VER", "5") +
        field("00", "METHOD", "NO AUTHENTICATION REQUIRED") +
        "INFO trace PEER C> request (10 bytes)\n" + field("05", "VER", "5") +
        field("01", "CMD", "CONNECT") + field("00", "RSV", "") + field("01", "ATYP", "IPv4") +
        field("7f 00 00 01", "DST.ADDR", "127.0.0.1") + field("TP TP", "DST.PORT", "TARGET-PORT") +
        "INFO trace PEER S> reply (10 bytes)\n" + field("05", "VER", "5") +
        field("00", "REP", "succeeded") + field("00", "RSV", "") + field("01", "ATYP", "IPv4") +
        field("7f 00 00 01", "BND.ADDR", "127.0.0.1") + field("BP BP", "BND.PORT", "BND-PORT");
    EXPECT_EQ(text, expected) << "the whole log:\n" << proxy.log();
}

TEST(Trace, AuthenticationShowsTheNameButNeverThePassword) {
    auto echo = test::echo_target();
    const std::string password = "Pa55-w0rd!";
    const std::string wrong = "Wr0ng-guess";
    ServerProcess proxy(kServer, {"--trace", "--user", "alice:" + password});
    auto good =
        socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()),
                        hex("05 01 02"), std::pair<std::string, std::string>{"alice", password});
    ASSERT_EQ(good.reply, 0x00);
    good.socket = Fd();
    auto bad =
        socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()),
                        hex("05 01 02"), std::pair<std::string, std::string>{"alice", wrong});
    EXPECT_EQ(bad.reply, -1);
    bad.socket = Fd();
    wait_for_access(proxy, 2);

    std::string text = trace_text(proxy.log());
    // The RFC 1929 message: the name in hex and text, the password only as a length.
    const std::string uname_hex = to_hex(hex("\"alice\""));
    EXPECT_NE(text.find(field("01", "VER", "1 (RFC 1929)")), std::string::npos) << text;
    EXPECT_NE(text.find(field("05", "ULEN", "5")), std::string::npos) << text;
    EXPECT_NE(text.find(field(uname_hex, "UNAME", "\"alice\"")), std::string::npos) << text;
    EXPECT_NE(text.find(field("0a", "PLEN", "10")), std::string::npos) << text;
    EXPECT_NE(text.find(field("**", "PASSWD", "(10 bytes, hidden)")), std::string::npos) << text;
    EXPECT_NE(text.find(field("0b", "PLEN", "11")), std::string::npos) << text;
    EXPECT_NE(text.find(field("00", "STATUS", "success")), std::string::npos) << text;
    EXPECT_NE(text.find(field("01", "STATUS", "failure")), std::string::npos) << text;

    // Neither password appears anywhere in the log: not as text, not as hex.
    const std::string log = proxy.log();
    for (const std::string& secret : {password, wrong}) {
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " is in the log:\n" << log;
        std::string secret_hex = to_hex(hex("\"" + secret + "\""));
        EXPECT_EQ(log.find(secret_hex.substr(0, 11)), std::string::npos)
            << secret << " is in the log as hex:\n"
            << log;
    }
}

TEST(Trace, Socks4aRequestAndReply) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer, {"--trace", "--map", "echo.test=127.0.0.1"});
    auto session = socks4_exchange(
        proxy.endpoint(), socks4_request("0.0.0.1", echo.port(), "bob", std::string("echo.test")));
    ASSERT_EQ(session.reply.size(), 8u);
    session.socket = Fd();
    access(proxy, 1);
    std::string text = trace_text(proxy.log());
    EXPECT_NE(text.find(field("00 00 00 01", "DSTIP", "0.0.0.1 (SOCKS4a: name follows)")),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(field("62 6f 62", "USERID", "\"bob\"")), std::string::npos) << text;
    EXPECT_NE(text.find(field("65 63 68 6f 2e 74 65 73 ...", "HOSTNAME", "\"echo.test\"")),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(field("5a", "CD", "granted")), std::string::npos) << text;
}

TEST(Trace, IsOffByDefault) {
    auto echo = test::echo_target();
    ServerProcess proxy(kServer);
    auto session = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", echo.port()));
    ASSERT_EQ(session.reply, 0x00);
    session.socket = Fd();
    access(proxy, 1);
    EXPECT_EQ(trace_text(proxy.log()), "");
}

}  // namespace
}  // namespace socks::ch06
