// parse_proxy_header over the headers real HAProxy sent (tests/captures/
// 06-haproxy-*.txt), every truncation of them, and the headers a balancer
// must never get away with.
#include "proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture.hpp"

namespace socks {
namespace {

Bytes bytes_of(const std::string& text) {
    return Bytes(text.begin(), text.end());
}

Bytes header_of(const std::string& capture_name) {
    test::Capture capture = test::load_capture(capture_name);
    for (const auto& step : capture.steps) {
        if (step.name == "proxy-header") return step.bytes;
    }
    ADD_FAILURE() << capture_name << " has no C> proxy-header line";
    return {};
}

// Feeds `message` the way read_message() does: exactly the bytes asked for.
// Fails when the parser asks past the message's end (it would eat the SOCKS
// greeting behind it) or decides before it.
Parsed<ProxyHeader> feed(const Bytes& message) {
    std::size_t have = 0;
    for (;;) {
        Parsed<ProxyHeader> parsed = parse_proxy_header(ByteView(message.data(), have));
        auto* more = std::get_if<NeedMore>(&parsed);
        if (more == nullptr) {
            EXPECT_EQ(have, message.size()) << "decided before the header's end";
            return parsed;
        }
        EXPECT_GE(more->bytes, 1u);
        if (have + more->bytes > message.size()) {
            ADD_FAILURE() << "asked for " << more->bytes << " more bytes after " << have
                          << ": past the header's end (" << message.size() << " bytes)";
            return parsed;
        }
        have += more->bytes;
    }
}

struct Expected {
    const char* capture;
    int version;
    const char* source;
    const char* destination;
};

TEST(ProxyHeader, ParsesTheHeadersHaproxySent) {
    for (const Expected& want : std::vector<Expected>{
             {"06-haproxy-send-proxy-v2.txt", 2, "127.0.0.2:40001", "127.0.0.1:18092"},
             {"06-haproxy-send-proxy-v2-ipv6.txt", 2, "[::1]:40004", "[::1]:18094"},
             {"06-haproxy-send-proxy.txt", 1, "127.0.0.2:40003", "127.0.0.1:18093"}}) {
        SCOPED_TRACE(want.capture);
        Parsed<ProxyHeader> parsed = feed(header_of(want.capture));
        auto* header = std::get_if<ProxyHeader>(&parsed);
        ASSERT_NE(header, nullptr);
        EXPECT_EQ(header->version, want.version);
        ASSERT_TRUE(header->source && header->destination);
        EXPECT_EQ(header->source->to_string(), want.source);
        EXPECT_EQ(header->destination->to_string(), want.destination);
    }
}

TEST(ProxyHeader, EveryTruncationAsksForMoreAndNeverPastTheEnd) {
    std::vector<Bytes> headers = {
        header_of("06-haproxy-send-proxy-v2.txt"),
        header_of("06-haproxy-send-proxy-v2-ipv6.txt"),
        header_of("06-haproxy-send-proxy.txt"),
        bytes_of("PROXY UNKNOWN\r\n"),
        bytes_of("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
        bytes_of("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n")};
    for (const Bytes& header : headers) {
        for (std::size_t cut = 0; cut < header.size(); ++cut) {
            Parsed<ProxyHeader> parsed = parse_proxy_header(ByteView(header.data(), cut));
            auto* more = std::get_if<NeedMore>(&parsed);
            ASSERT_NE(more, nullptr) << "prefix of " << cut << " of " << header.size() << " bytes";
            EXPECT_LE(cut + more->bytes, header.size()) << "prefix of " << cut << " bytes";
        }
        EXPECT_TRUE(std::holds_alternative<ProxyHeader>(feed(header)));
    }
    // The longest v1 line the specification allows (UNKNOWN with the longest
    // addresses) is 107 bytes, and parses.
    EXPECT_EQ(headers.back().size(), kProxyV1MaxLength);
}

TEST(ProxyHeader, TheBalancersOwnConnectionNamesNoClient) {
    // v2 LOCAL (HAProxy's health checks), v2 PROXY with UNSPEC, v1 UNKNOWN.
    Bytes local = header_of("06-haproxy-send-proxy-v2.txt");
    local[12] = 0x20;
    Bytes unspec = header_of("06-haproxy-send-proxy-v2.txt");
    unspec[13] = 0x00;
    for (const Bytes& header : {local, unspec, bytes_of("PROXY UNKNOWN 1.2.3.4 x y z\r\n")}) {
        Parsed<ProxyHeader> parsed = feed(header);
        auto* got = std::get_if<ProxyHeader>(&parsed);
        ASSERT_NE(got, nullptr);
        EXPECT_FALSE(got->source);
    }
}

TEST(ProxyHeader, SkipsV2Extensions) {
    Bytes header = header_of("06-haproxy-send-proxy-v2.txt");
    header[15] = 12 + 7;  // the addresses, then one TLV: type 04 (NOOP), length 4
    Bytes tlv{0x04, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};
    header.insert(header.end(), tlv.begin(), tlv.end());
    Parsed<ProxyHeader> parsed = feed(header);
    auto* got = std::get_if<ProxyHeader>(&parsed);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->source->to_string(), "127.0.0.2:40001");
}

struct Bad {
    std::string what;
    Bytes bytes;
    std::string reason;  // part of the ParseError's reason
};

TEST(ProxyHeader, RefusesWhatNoBalancerSends) {
    Bytes v2 = header_of("06-haproxy-send-proxy-v2.txt");
    auto with = [&v2](std::size_t at, std::uint8_t value) {
        Bytes changed = v2;
        changed[at] = value;
        return changed;
    };
    std::vector<Bad> cases = {
        {"a SOCKS5 greeting", {0x05, 0x01, 0x00}, "not a PROXY protocol header (byte 0 is 0x05)"},
        {"HTTP", bytes_of("GET / HTTP/1.1\r\n"), "not a PROXY protocol header (byte 0 is 0x47)"},
        {"v1 misspelt", bytes_of("PROXZ TCP4"), "(byte 4 is 0x5a)"},
        {"v1 TCP5", bytes_of("PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n"), "'TCP5' is not TCP4"},
        {"v1 bad address", bytes_of("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n"), "are not TCP4"},
        {"v1 IPv6 as TCP4", bytes_of("PROXY TCP4 ::1 ::1 1 2\r\n"), "are not TCP4"},
        {"v1 port 65536", bytes_of("PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n"), "are not TCP4"},
        {"v1 signed port", bytes_of("PROXY TCP4 1.2.3.4 1.2.3.4 +1 2\r\n"), "are not TCP4"},
        {"v1 two spaces", bytes_of("PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n"), "6 fields"},
        {"v1 no port", bytes_of("PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n"), "4 fields"},
        {"v1 LF alone", bytes_of("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n"), "LF without CR"},
        {"v1 without end", bytes_of("PROXY TCP4 " + std::string(200, '1')),
         "no CRLF within 107 bytes"},
        {"v2 version 1", with(12, 0x11), "v2: version 1, not 2"},
        {"v2 command 2", with(12, 0x22), "command 0x02 is not LOCAL or PROXY"},
        {"v2 oversized", with(14, 0x04), "1036 address bytes announced, more than 1024"},
        {"v2 UDP", with(13, 0x12), "address family 0x12 is not served"},
        {"v2 unix socket", with(13, 0x31), "address family 0x31 is not served"},
        {"v2 family 0x71", with(13, 0x71), "address family 0x71 is not served"},
        {"v2 short IPv4", with(15, 0x04), "4 address bytes are too few for family 0x11"},
        {"v2 misspelt", with(7, 0x52), "(byte 7 is 0x52)"},
    };
    for (const Bad& bad : cases) {
        SCOPED_TRACE(bad.what);
        // Given every byte at once, and the way read_message() gives them.
        Bytes bytes = bad.bytes;
        Parsed<ProxyHeader> parsed = parse_proxy_header(ByteView(bytes));
        std::size_t have = 0;
        while (auto* more = std::get_if<NeedMore>(&parsed)) {
            ASSERT_LE(have + more->bytes, bytes.size()) << "still asks for more";
            have += more->bytes;
            parsed = parse_proxy_header(ByteView(bytes.data(), have));
        }
        auto* error = std::get_if<ParseError>(&parsed);
        ASSERT_NE(error, nullptr);
        EXPECT_NE(error->reason.find(bad.reason), std::string::npos) << error->reason;
        EXPECT_FALSE(error->reply) << "a bad header is closed, not answered";
    }
}

TEST(ProxyHeader, ToldApartFromSocksByItsFirstFiveBytes) {
    EXPECT_TRUE(starts_like_proxy_header(ByteView(bytes_of("PROXY"))));
    EXPECT_TRUE(starts_like_proxy_header(ByteView(bytes_of("PROXY TCP4 1.2.3.4"))));
    Bytes v2 = header_of("06-haproxy-send-proxy-v2.txt");
    EXPECT_TRUE(starts_like_proxy_header(ByteView(v2.data(), 5)));
    EXPECT_FALSE(starts_like_proxy_header(ByteView(bytes_of("PROX"))));
    EXPECT_FALSE(starts_like_proxy_header(ByteView(bytes_of("PROXZ"))));
    EXPECT_FALSE(starts_like_proxy_header(ByteView(bytes_of("POST / HTTP/1.1"))));
    EXPECT_FALSE(starts_like_proxy_header(ByteView(Bytes{0x05, 0x01, 0x00, 0x00, 0x00})));
}

}  // namespace
}  // namespace socks
