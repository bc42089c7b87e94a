// socks5-request: chapter 04's program. Negotiates, authenticates (with
// --user), reads the request, connects to the destination, replies, and closes:
// there is no relay yet, so curl reports an empty reply. Chapter 05 adds it.
#include "auth.hpp"
#include "cli.hpp"
#include "connect.hpp"
#include "hang_up.hpp"
#include "request.hpp"
#include "server.hpp"

#include <optional>

int main(int argc, char** argv) {
    socks::Endpoint listen;
    socks::Users users;
    bool trace = false;
    socks::CommandLine cli("socks5-request",
                           "SOCKS5 requests (RFC 1928 sections 4-6): connect to the destination, "
                           "send the reply, then close.");
    socks::add_listen_option(cli, listen);
    socks::add_user_option(cli, users);
    socks::add_trace_option(cli, trace);
    if (auto status = cli.parse(argc, argv)) return *status;

    return socks::serve_main(
        {listen}, [&users, &trace](const socks::Fd& client, const socks::SocketAddress& peer) {
            std::optional<socks::Tracer> tracer;  // --trace
            if (trace) tracer.emplace(peer.to_string(), socks::describe_request);
            // On success the target connection closes at the end of
            // the serve_request statement: nothing relays yet. Every
            // session, refused or not, ends with hang_up.
            if (socks::handshake(client, peer, users)) socks::serve_request(client, peer);
            socks::hang_up(client);
        });
}
