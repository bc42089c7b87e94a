// Chapter 06 against a hostile client (issue 18): whatever bytes a client
// puts in a name, a user name or a user id, the log stays one line per event
// in its key=value format, and says who tried what.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "helpers.hpp"
#include "log.hpp"

namespace socks::ch06 {
namespace {

// A newline followed by a forged access line, a quote, '=', a terminal escape
// sequence and bytes that are not UTF-8.
const std::string kHostile =
    "x\n2026-01-01T00:00:00.000Z INFO access client=6.6.6.6:1 proto=socks5 user=root "
    "cmd=CONNECT target=evil:1 reply=00 note=\"ok\" k=v \x1b[31mred\xff\xfe\xc3";

// Every line of the log is a log line (time stamp, level, text) or a field
// line of the --trace entry above it; nothing else, and no byte outside ASCII.
testing::AssertionResult every_line_is_a_log_line(const std::string& log) {
    static const std::regex stamp(
        R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) (.*)$)");
    std::istringstream lines(log);
    bool in_trace = false;
    int number = 0;
    for (std::string line; std::getline(lines, line);) {
        ++number;
        for (unsigned char c : line) {
            if (c < 0x20 || c >= 0x7f) {
                return testing::AssertionFailure()
                       << "line " << number << " holds byte " << int(c) << ": " << printable(line);
            }
        }
        std::smatch match;
        if (std::regex_match(line, match, stamp)) {
            in_trace = match[2].str().starts_with("trace ");
        } else if (!(in_trace && line.starts_with("    "))) {
            return testing::AssertionFailure()
                   << "line " << number << " is not a log line: " << printable(line);
        }
    }
    return testing::AssertionSuccess();
}

TEST(LogEscaping, HostileBytesInEveryFieldStayInTheirField) {
    const std::string name = kHostile + ".invalid";  // fails at once, RFC 6761
    {
        // A failed login: the user field names the name tried, escaped.
        ServerProcess proxy(kServer, {"--user", "alice:secret", "--trace"});
        Socks5Result login = socks5_exchange(proxy.endpoint(), socks5_request_ip("127.0.0.1", 9),
                                             {0x05, 0x01, 0x02}, {{kHostile, "wrong"}});
        EXPECT_EQ(login.reply, -1);
        login.socket = Fd();
        // SOCKS4 with --user is refused; its user id, command and target are logged.
        Socks4Result socks4 =
            socks4_exchange(proxy.endpoint(), socks4_request("0.0.0.1", 80, kHostile, name));
        EXPECT_EQ(socks4.reply.size(), 8u);
        socks4.socket = Fd();
        std::vector<Access> lines = wait_for_access(proxy, 2);
        ASSERT_EQ(lines.size(), 2u) << proxy.log();
        EXPECT_TRUE(has_fields(
            lines[0],
            {{"proto", "socks5"}, {"user", "tried:" + printable(kHostile)}, {"reply", "-"}}));
        EXPECT_TRUE(has_fields(lines[1], {{"proto", "socks4a"},
                                          {"user", "userid:" + printable(kHostile)},
                                          {"cmd", "CONNECT"},
                                          {"target", "[" + printable(name) + "]:80"},
                                          {"reply", "5b"}}));
        EXPECT_EQ(proxy.stop(), 0);
        EXPECT_TRUE(every_line_is_a_log_line(proxy.log()));
        EXPECT_EQ(proxy.log().find("user=root"), std::string::npos) << proxy.log();
    }
    {
        // Names in CONNECT (SOCKS5 and SOCKS4a): the target and the note.
        ServerProcess proxy(kServer, {"--trace", "--log-level", "debug"});
        Socks5Result connect = socks5_exchange(proxy.endpoint(), socks5_request_domain(name, 80));
        EXPECT_EQ(connect.reply, 0x04);
        connect.socket = Fd();
        Socks4Result socks4 =
            socks4_exchange(proxy.endpoint(), socks4_request("0.0.0.1", 80, kHostile, name));
        EXPECT_EQ(socks4.reply.size(), 8u);
        socks4.socket = Fd();
        std::vector<Access> lines = wait_for_access(proxy, 2);
        ASSERT_EQ(lines.size(), 2u) << proxy.log();
        for (const Access& line : lines) {
            EXPECT_EQ(line["target"], "[" + printable(name) + "]:80") << line.line;  // it holds ':'
            EXPECT_NE(line["note"].find("resolve " + printable(name)), std::string::npos)
                << line.line;
            EXPECT_EQ(line.fields.count("k"), 0u) << line.line;
        }
        EXPECT_EQ(lines[1]["user"], "userid:" + printable(kHostile));
        EXPECT_EQ(proxy.stop(), 0);
        EXPECT_TRUE(every_line_is_a_log_line(proxy.log()));
        EXPECT_EQ(proxy.log().find("user=root"), std::string::npos) << proxy.log();
    }
}

// A --trace field of any length ends its line: a 255-byte name escapes to
// ~1 KiB, and the field lines used to be cut at 159 characters, without
// their newline, merging with the next.
TEST(LogEscaping, LongTraceFieldsKeepTheirNewline) {
    ServerProcess proxy(kServer, {"--trace"});
    std::string name = std::string(240, '\x1b') + ".invalid";
    Socks5Result connect = socks5_exchange(proxy.endpoint(), socks5_request_domain(name, 80));
    EXPECT_EQ(connect.reply, 0x04);
    connect.socket = Fd();
    wait_for_access(proxy, 1);
    EXPECT_EQ(proxy.stop(), 0);
    EXPECT_TRUE(every_line_is_a_log_line(proxy.log()));
    EXPECT_NE(proxy.log().find("DST.ADDR   " + printable(name) + "\n"), std::string::npos)
        << proxy.log();
}

}  // namespace
}  // namespace socks::ch06
