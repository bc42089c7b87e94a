#include "program.hpp"

#include <optional>

#include "cli.hpp"
#include "server.hpp"

namespace socks {

int serve_program(int argc, char** argv, const char* name, const char* about, Describe describe,
                  UserSession session) {
    Endpoint listen;
    Users users;
    bool trace = false;
    CommandLine cli(name, about);
    add_listen_option(cli, listen);
    add_user_option(cli, users);
    add_trace_option(cli, trace);
    if (auto status = cli.parse(argc, argv)) return *status;

    return serve_main({listen}, [&](const Fd& client, const SocketAddress& peer) {
        std::optional<Tracer> tracer;  // --trace: this session's messages
        if (trace) tracer.emplace(peer.to_string(), describe);
        session(client, peer, users);
    });
}

}  // namespace socks
