// Everything chapter 06's command line can say, checked before the server starts.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth.hpp"
#include "log.hpp"
#include "net.hpp"
#include "rules.hpp"

namespace socks {

struct Config {
    std::vector<Endpoint> listen;  // default 127.0.0.1:1080
    // The real listening addresses (port 0 resolved), filled in by main once
    // the server listens: destinations that are these are refused (a loop).
    std::vector<SocketAddress> listening;
    Users users;
    Rules rules;
    std::vector<SocketAddress> outgoing;  // --outgoing-address (at most one per family)
    std::map<std::string, std::vector<SocketAddress>> hosts;  // --map, by normalised name
    // --proxy-protocol-from: the load balancers whose PROXY header names the
    // real client (balancer/proxy_protocol.hpp); they must send one.
    std::vector<Network> proxy_protocol_from;
    std::size_t max_connections = 1000;
    // Per client address (per_source.hpp); 0: no limit.
    std::size_t max_per_source = 256;     // sessions at once
    std::size_t max_login_failures = 10;  // wrong passwords a minute
    std::size_t log_refusals = 600;       // refused-session lines a minute
    std::size_t max_lookups = 1000;       // DNS lookups at once, late ones included (lookup.hpp)
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds idle_timeout{600'000};  // 0: none
    // TCP keepalive on both sides of a session: the first probe after this
    // long without traffic (then every 10 s, 6 times). 0: off.
    std::chrono::seconds keepalive{60};
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds shutdown_grace{5'000};
    std::chrono::milliseconds bind_timeout{30'000};
    std::size_t thread_stack_kib = 256;
    std::size_t spare_threads = 16;  // thread_pool.hpp
    LogLevel log_level = LogLevel::Info;
    // --log-format json: the access lines as JSON objects (operations/json.hpp).
    bool log_json = false;
    // --health-from: a connection from here that closes before sending a byte
    // is a load balancer's health check, and is not logged.
    std::vector<Network> health_from;
    bool trace = false;
    bool allow_open_proxy = false;
    // --reuse-port: SO_REUSEPORT, so several instances share one listening port.
    bool reuse_port = false;
    // --relay: splice (fast_relay.hpp, the default) or copy (chapter 05's relay).
    bool splice_relay = true;
};

// Parses the command line. Returns the Config, or the exit status when the
// program must stop now (0 after --help/--version, 2 after a usage error,
// which has been printed).
std::variant<Config, int> parse_config(int argc, char** argv);

// Reads "name:password" lines ('#' comments, blank lines). Throws
// std::invalid_argument naming the file and line of a malformed one.
void load_users_file(const std::string& path, Users& users);

// A listening address reachable from other machines: not 127.0.0.0/8, ::1 or localhost.
bool is_loopback_host(const std::string& host);

}  // namespace socks
