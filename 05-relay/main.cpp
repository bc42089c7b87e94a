// socks5-relay: chapter 05's program, a working SOCKS5 CONNECT proxy.
// Try it: ./socks5-relay, then `curl --socks5-hostname 127.0.0.1:1080 http://localhost:8000/`.
#include "auth.hpp"
#include "cli.hpp"
#include "relay.hpp"
#include "request.hpp"
#include "server.hpp"

#include <optional>

int main(int argc, char** argv) {
    socks::Endpoint listen;
    socks::Users users;
    bool trace = false;
    socks::CommandLine cli("socks5-relay",
                           "A SOCKS5 CONNECT proxy: handshake, request, then relay both ways "
                           "with half-close.");
    socks::add_listen_option(cli, listen);
    socks::add_user_option(cli, users);
    socks::add_trace_option(cli, trace);
    if (auto status = cli.parse(argc, argv)) return *status;

    return socks::serve_main(
        {listen}, [&users, &trace](const socks::Fd& client, const socks::SocketAddress& peer) {
            std::optional<socks::Tracer> tracer;  // --trace
            if (trace) tracer.emplace(peer.to_string(), socks::describe_request);
            socks::proxy_session(client, peer, users);
        });
}
