// socks5-request: chapter 04's program. Negotiates, authenticates (with
// --user), reads the request, connects to the destination, replies, and closes:
// there is no relay yet, so curl reports an empty reply. Chapter 05 adds it.
#include "auth.hpp"
#include "connect.hpp"
#include "hang_up.hpp"
#include "program.hpp"
#include "request.hpp"

int main(int argc, char** argv) {
    return socks::serve_program(
        argc, argv, "socks5-request",
        "SOCKS5 requests (RFC 1928 sections 4-6): connect to the destination, send the reply, "
        "then close.",
        socks::describe_request,
        [](const socks::Fd& client, const socks::SocketAddress& peer, const socks::Users& users) {
            // On success the target connection closes at the end of the
            // serve_request statement: nothing relays yet. Every session,
            // refused or not, ends with hang_up.
            if (socks::handshake(client, peer, users)) socks::serve_request(client, peer);
            socks::hang_up(client);
        });
}
