// echo-server: chapter 01's program. Try it: ./echo-server, then `nc 127.0.0.1 1080`.
#include "cli.hpp"
#include "echo.hpp"
#include "server.hpp"

int main(int argc, char** argv) {
    socks::Endpoint listen;
    socks::CommandLine cli("echo-server", "A TCP echo server: one thread per connection.");
    socks::add_listen_option(cli, listen);
    if (auto status = cli.parse(argc, argv)) return *status;
    return socks::serve_main({listen}, socks::echo_session);
}
