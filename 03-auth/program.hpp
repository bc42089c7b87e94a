// The command line and the server that the programs of chapters 03-05 share:
// --listen, --user and --trace, then each client on a thread of its own. Each
// program's main() is left with what makes it that chapter: its name, what it
// does, which messages its trace knows, and the session itself.
#pragma once

#include <functional>

#include "auth.hpp"
#include "fields.hpp"
#include "net.hpp"

namespace socks {

using UserSession =
    std::function<void(const Fd& client, const SocketAddress& peer, const Users& users)>;

// Parses the command line (exit status 0 or 2 for --help and mistakes), then
// serves until SIGINT/SIGTERM; with --trace each session's messages are
// logged, their fields named by `describe`.
int serve_program(int argc, char** argv, const char* name, const char* about, Describe describe,
                  UserSession session);

}  // namespace socks
