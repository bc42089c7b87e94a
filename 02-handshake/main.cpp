// socks5-handshake: chapter 02's program. It negotiates the method (always NO
// AUTHENTICATION here), then hex-dumps whatever the client sends next.
// Try it: ./socks5-handshake, then `curl --socks5 127.0.0.1:1080 http://example.com/`.
#include "cli.hpp"
#include "fields.hpp"
#include "handshake.hpp"
#include "hang_up.hpp"
#include "hexdump.hpp"
#include "server.hpp"

#include <optional>

int main(int argc, char** argv) {
    socks::Endpoint listen;
    bool trace = false;
    socks::CommandLine cli("socks5-handshake",
                           "SOCKS5 method negotiation (RFC 1928 section 3), then a hex dump of "
                           "what the client sends next.");
    socks::add_listen_option(cli, listen);
    socks::add_trace_option(cli, trace);
    if (auto status = cli.parse(argc, argv)) return *status;

    return socks::serve_main(
        {listen}, [&trace](const socks::Fd& client, const socks::SocketAddress& peer) {
            std::optional<socks::Tracer> tracer;  // --trace: this session's messages
            if (trace) tracer.emplace(peer.to_string(), socks::describe_handshake);
            // [docs:handler]
            if (socks::negotiate_method(client, peer, /*require_password=*/false)) {
                socks::dump_until_closed(client, peer);
            } else {
                socks::hang_up(client);  // refused: let the 05 FF reach the client
            }
            // [/docs:handler]
        });
}
