// socks5-relay: chapter 05's program, a working SOCKS5 CONNECT proxy.
// Try it: ./socks5-relay, then `curl --socks5-hostname 127.0.0.1:1080 http://localhost:8000/`.
#include "program.hpp"
#include "relay.hpp"
#include "request.hpp"

int main(int argc, char** argv) {
    return socks::serve_program(
        argc, argv, "socks5-relay",
        "A SOCKS5 CONNECT proxy: handshake, request, then relay both ways with half-close.",
        socks::describe_request, socks::proxy_session);
}
