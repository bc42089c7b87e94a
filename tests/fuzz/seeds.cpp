// Writes the fuzzers' seed corpus: the client bytes of every capture in
// tests/captures/ (the C> lines, by message name), plus the hand-written
// cases below for messages no capture holds yet (SOCKS4/4a, UDP datagrams,
// BIND, malformed inputs from tor's test_socks.c and our own tables).
//
//   fuzz_seeds OUT_DIR    ->  OUT_DIR/<target>/<capture>-<line>, one file each
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "capture.hpp"

using socks::Bytes;
using socks::test::hex;

namespace {

// Which fuzz target a C> message of a capture seeds.
const std::map<std::string, std::string> kTargetOf = {
    {"greeting", "greeting"},     {"auth", "user_pass"},          {"request", "request"},
    {"socks4-request", "socks4"}, {"udp-datagram", "udp_header"}, {"proxy-header", "proxy_header"},
};

// Seeds no capture holds: name -> hex (see capture.hpp for the notation).
const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>
    kBuiltIn = {
        {"greeting",
         {{"gssapi-offer", "05 02 00 01"},
          {"nmethods-0", "05 00"},
          {"unknown-methods", "05 03 99 21 10"},
          {"http", "\"GET / HTTP/1.1\\r\\n\""}}},
        {"user_pass",
         {{"empty-both", "01 00 00"},
          {"long-fields",
           "01 ff \"" + std::string(255, 'a') + "\" ff \"" + std::string(255, 'b') + "\""},
          {"ver-05", "05 01 \"u\" 01 \"p\""}}},
        {"request",
         {{"ipv6", "05 01 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 1f 90"},
          {"bind", "05 02 00 01 00 00 00 00 00 00"},
          {"udp-pysocks", "05 03 00 03 01 \"0\" 30 39"},
          {"atyp-23", "05 01 00 23 00 00"},
          {"empty-name", "05 01 00 03 00 00 50"}}},
        {"socks4",
         {{"socks4", "04 01 00 50 7f 00 00 01 \"bob\" 00"},
          {"socks4a", "04 01 00 50 00 00 00 01 00 \"example.invalid\" 00"},
          {"bind", "04 02 00 50 7f 00 00 01 00"}}},
        {"proxy_header",
         {{"v1-tcp6", "\"PROXY TCP6 ::1 ::1 40000 1080\\r\\n\""},
          {"v1-unknown", "\"PROXY UNKNOWN ffff::1 ::1 1 2\\r\\n\""},
          {"v2-local", "0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a 20 00 00 00"},
          {"v2-tlv",
           "0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a 21 11 00 0f 7f 00 00 02 7f 00 00 01 "
           "9c 41 04 38 04 00 00"},
          {"v2-udp",
           "0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a 21 12 00 0c 7f 00 00 02 7f 00 00 01 "
           "9c 41 04 38"}}},
        {"udp_header",
         {{"ipv4", "00 00 00 01 7f 00 00 01 00 35 \"hello\""},
          {"domain", "00 00 00 03 09 \"localhost\" 00 35 \"x\""},
          {"ipv6", "00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 35"},
          {"frag", "00 00 01 01 7f 00 00 01 00 35 \"x\""}}},
        // [flags: bit 0 --user, bit 1 --trace] [split seed] then the client's bytes.
        {"session",
         {{"socks4a", "00 07 04 01 00 50 00 00 00 01 00 \"example.invalid\" 00"},
          {"socks4-with-user", "01 02 04 01 00 50 7f 00 00 01 00"},
          {"bind", "00 03 05 01 00 05 02 00 01 00 00 00 00 00 00"},
          {"udp-associate", "02 05 05 01 00 05 03 00 03 01 \"0\" 30 39"},
          {"pipelined",
           "01 00 05 02 00 02 01 03 \"foo\" 03 \"bar\" 05 01 00 01 7f 00 00 01 "
           "00 50 \"ping\""},
          {"skip-auth", "01 09 05 01 02 05 01 00 01 7f 00 00 01 00 50"},
          {"http", "00 01 \"GET / HTTP/1.1\\r\\n\\r\\n\""}}},
};

void write_file(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
        return 2;
    }
    const std::string out = argv[1];
    ::mkdir(out.c_str(), 0755);
    for (const char* target :
         {"greeting", "user_pass", "request", "socks4", "udp_header", "proxy_header", "session"}) {
        ::mkdir((out + "/" + target).c_str(), 0755);
    }
    int written = 0;
    try {
        for (const std::string& file : socks::test::list_captures()) {
            socks::test::Capture capture = socks::test::load_capture(file);
            std::string stem = file.substr(0, file.rfind('.'));
            Bytes stream;
            bool auth = false;
            for (const auto& step : capture.steps) {
                if (step.kind != socks::test::CaptureStep::Kind::ClientSends) continue;
                Bytes bytes = step.bytes;
                if (step.target_port_at) bytes[*step.target_port_at + 1] = 80;  // port 80
                stream.insert(stream.end(), bytes.begin(), bytes.end());
                auth |= step.name == "auth";
                auto target = kTargetOf.find(step.name);
                if (target == kTargetOf.end()) continue;
                write_file(
                    out + "/" + target->second + "/" + stem + "-" + std::to_string(step.line),
                    bytes);
                ++written;
            }
            if (stream.empty()) continue;
            // The whole client side as one session: with and without --trace.
            for (unsigned trace : {0u, 2u}) {
                Bytes session{static_cast<std::uint8_t>((auth ? 1u : 0u) | trace), 0x2a};
                session.insert(session.end(), stream.begin(), stream.end());
                write_file(out + "/session/" + stem + (trace ? "-trace" : ""), session);
                ++written;
            }
        }
        for (const auto& [target, seeds] : kBuiltIn) {
            for (const auto& [name, text] : seeds) {
                write_file(out + "/" + target + "/builtin-" + name, hex(text));
                ++written;
            }
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fuzz_seeds: %s\n", error.what());
        return 1;
    }
    std::printf("fuzz_seeds: %d seeds in %s\n", written, out.c_str());
    return 0;
}
