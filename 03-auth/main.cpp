// socks5-auth: chapter 03's program. Negotiates the method, runs RFC 1929 when
// --user is given, then hex-dumps what the client sends next.
// Try it: ./socks5-auth --user alice:secret, then
// `curl --socks5 127.0.0.1:1080 --proxy-user alice:secret http://example.com/`.
#include "auth.hpp"
#include "hang_up.hpp"
#include "hexdump.hpp"
#include "program.hpp"

int main(int argc, char** argv) {
    return socks::serve_program(
        argc, argv, "socks5-auth",
        "SOCKS5 negotiation with username/password authentication (RFC 1929), then a hex dump "
        "of what the client sends next.",
        socks::describe_auth,
        [](const socks::Fd& client, const socks::SocketAddress& peer, const socks::Users& users) {
            // [docs:handler]
            if (socks::handshake(client, peer, users))
                socks::dump_until_closed(client, peer);
            else
                socks::hang_up(client);  // refused: the reply must arrive
            // [/docs:handler]
        });
}
