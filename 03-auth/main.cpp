// socks5-auth: chapter 03's program. Negotiates the method, runs RFC 1929 when
// --user is given, then hex-dumps what the client sends next.
// Try it: ./socks5-auth --user alice:secret, then
// `curl --socks5 127.0.0.1:1080 --proxy-user alice:secret http://example.com/`.
#include "auth.hpp"
#include "cli.hpp"
#include "hang_up.hpp"
#include "hexdump.hpp"
#include "server.hpp"

#include <optional>

int main(int argc, char** argv) {
    socks::Endpoint listen;
    socks::Users users;
    bool trace = false;
    socks::CommandLine cli("socks5-auth",
                           "SOCKS5 negotiation with username/password authentication (RFC 1929), "
                           "then a hex dump of what the client sends next.");
    socks::add_listen_option(cli, listen);
    socks::add_user_option(cli, users);
    socks::add_trace_option(cli, trace);
    if (auto status = cli.parse(argc, argv)) return *status;

    return socks::serve_main(
        {listen}, [&users, &trace](const socks::Fd& client, const socks::SocketAddress& peer) {
            std::optional<socks::Tracer> tracer;  // --trace
            if (trace) tracer.emplace(peer.to_string(), socks::describe_auth);
            // [docs:handler]
            if (socks::handshake(client, peer, users))
                socks::dump_until_closed(client, peer);
            else
                socks::hang_up(client);  // refused: the reply must arrive
            // [/docs:handler]
        });
}
