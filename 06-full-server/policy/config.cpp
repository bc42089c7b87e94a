#include "config.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

#include "cli.hpp"
#include "fields.hpp"

#ifndef SOCKS_VERSION
#define SOCKS_VERSION "0"
#endif

namespace socks {

namespace {

std::chrono::milliseconds parse_seconds(const std::string& value) {
    std::size_t used = 0;
    double seconds = -1;
    try {
        seconds = std::stod(value, &used);
    } catch (const std::exception&) {
    }
    // Written as "not within" so that "nan" (which compares false) is refused too.
    if (used != value.size() || !(seconds >= 0 && seconds <= 1e6)) {
        throw std::invalid_argument("expected a number of seconds, got '" + value + "'");
    }
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

std::size_t parse_count(const std::string& value) {
    std::size_t used = 0;
    unsigned long n = 0;
    try {
        n = std::stoul(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    // Digits only: stoul() would also take "-1" (as the largest number) and " 5".
    if (used == 0 || used != value.size() ||
        value.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("expected a number, got '" + value + "'");
    return n;
}

// An IP literal (no name lookup) as a SocketAddress with port `port`.
std::optional<SocketAddress> parse_ip(const std::string& text, std::uint16_t port = 0) {
    SocketAddress address;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    std::string bare = text.size() > 2 && text.front() == '[' && text.back() == ']'
                           ? text.substr(1, text.size() - 2)
                           : text;
    if (::inet_pton(AF_INET, bare.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        address.size = sizeof(sockaddr_in);
        return address;
    }
    if (::inet_pton(AF_INET6, bare.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        address.size = sizeof(sockaddr_in6);
        return address;
    }
    return std::nullopt;
}

// /proc/PID/cmdline shows the arguments to every local user: once parsed,
// the passwords of --user NAME:PASSWORD (and --user=NAME:PASSWORD) are
// overwritten in place with '*', as microsocks does. (They were visible from
// the start until here; --users-file never shows them.)
void hide_passwords(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        char* value = nullptr;
        if (std::strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
            value = argv[++i];
        } else if (std::strncmp(argv[i], "--user=", 7) == 0) {
            value = argv[i] + 7;
        }
        if (char* colon = value ? std::strchr(value, ':') : nullptr) {
            for (char* c = colon + 1; *c != '\0'; ++c)
                *c = '*';
        }
    }
}

}  // namespace

bool is_loopback_host(const std::string& host) {
    if (normalize_host(host) == "localhost") return true;
    auto address = parse_ip(host);
    if (!address) return false;
    static const auto v4_loopback = Network::parse("127.0.0.0/8");
    static const auto v6_loopback = Network::parse("::1/128");
    return v4_loopback->contains(*address) || v6_loopback->contains(*address);
}

void load_users_file(const std::string& path, Users& users) {
    // Every way this can go wrong stops the server: a users file that yields
    // no account would otherwise start it with no authentication at all.
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) {
        throw std::invalid_argument(path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(status.st_mode)) throw std::invalid_argument(path + ": not a regular file");
    if (status.st_mode & S_IWOTH) {
        throw std::invalid_argument(path + ": writable by every user (anyone could add an " +
                                    "account); chmod o-w it");
    }
    std::ifstream in(path);
    if (!in) throw std::invalid_argument(path + ": " + std::strerror(errno));
    std::set<std::string> names;
    std::string line;
    int number = 1;
    for (; std::getline(in, line); ++number) {
        auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
        if (number == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 BOM
        // Spaces around a line are not part of the name or the password.
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        std::string name = line.substr(0, line.find(':'));
        if (!names.insert(name).second) {
            throw std::invalid_argument(where() + "user '" + printable(name) +
                                        "' again (each name once)");
        }
        try {
            users.add_from_option(line);
        } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(where() + error.what());
        }
    }
    if (in.bad()) throw std::invalid_argument(path + ": " + std::strerror(errno));
    if (names.empty()) {
        throw std::invalid_argument(path + ": no accounts (the file is empty or only comments)");
    }
}

std::variant<Config, int> parse_config(int argc, char** argv) {
    Config config;
    bool listen_given = false;
    Endpoint endpoint;
    CommandLine cli("socks5-server",
                    "A SOCKS5 (RFC 1928, RFC 1929) and SOCKS4/4a proxy server: thread per "
                    "connection, blocking sockets.\nRules: --allow/--deny RULE, checked in order, "
                    "the first match decides; RULE is terms\nfrom=CIDR to=CIDR|HOST port=N|N-M "
                    "cmd=connect|bind|udp (all must match) or 'all'. With no\nmatch: allowed, "
                    "unless an --allow rule exists. A denied request gets reply 0x02.");
    cli.add_option("--listen", "HOST:PORT",
                   "listen here (repeatable; IPv6 as [::1]:1080; default 127.0.0.1:1080; port 0 "
                   "picks a free port)",
                   [&](const std::string& value) {
                       auto parsed = parse_endpoint(value);
                       if (!parsed)
                           throw std::invalid_argument("expected HOST:PORT or [IPv6]:PORT");
                       if (!listen_given) config.listen.clear();
                       listen_given = true;
                       config.listen.push_back(*parsed);
                   });
    add_user_option(cli, config.users);
    cli.add_option("--users-file", "FILE",
                   "read accounts from FILE, one name:password per line, '#' comments",
                   [&](const std::string& value) { load_users_file(value, config.users); });
    cli.add_option("--allow", "RULE", "allow what RULE matches (repeatable, in order with --deny)",
                   [&](const std::string& value) { config.rules.add(Rule::parse(true, value)); });
    cli.add_option("--deny", "RULE", "deny what RULE matches: reply 0x02 (repeatable)",
                   [&](const std::string& value) { config.rules.add(Rule::parse(false, value)); });
    cli.add_flag("--deny-loopback",
                 "deny every loopback destination, both families: the rules "
                 "'to=127.0.0.0/8' and 'to=::1', here in the rule order",
                 [&] {
                     config.rules.add(Rule::parse(false, "to=127.0.0.0/8"));
                     config.rules.add(Rule::parse(false, "to=::1"));
                 });
    cli.add_option("--outgoing-address", "ADDR",
                   "make outgoing connections from this local IP address (one IPv4, one IPv6)",
                   [&](const std::string& value) {
                       auto address = parse_ip(value);
                       if (!address) throw std::invalid_argument("expected an IP address");
                       config.outgoing.push_back(*address);
                   });
    cli.add_option(
        "--map", "HOST=ADDR", "resolve HOST to the IP address ADDR without DNS (repeatable)",
        [&](const std::string& value) {
            auto eq = value.find('=');
            auto address = eq == std::string::npos ? std::nullopt : parse_ip(value.substr(eq + 1));
            if (!address || eq == 0) throw std::invalid_argument("expected HOST=IP");
            config.hosts[normalize_host(value.substr(0, eq))].push_back(*address);
        });
    cli.add_option("--proxy-protocol-from", "CIDR",
                   "a load balancer here (e.g. HAProxy with send-proxy or send-proxy-v2) sends a "
                   "PROXY protocol v1/v2 header first, naming the real client; it must send one, "
                   "and nobody else may (repeatable)",
                   [&](const std::string& value) {
                       auto network = Network::parse(value);
                       if (!network) throw std::invalid_argument("expected an address or CIDR");
                       config.proxy_protocol_from.push_back(*network);
                   });
    cli.add_option(
        "--max-connections", "N",
        "at most N sessions at once; more clients are closed at once (default 1000; 0: no "
        "limit)",
        [&](const std::string& value) { config.max_connections = parse_count(value); });
    cli.add_option("--max-per-source", "N",
                   "at most N sessions at once from one client address (IPv6: one /64); more are "
                   "closed at once (default 256; 0: no limit)",
                   [&](const std::string& value) { config.max_per_source = parse_count(value); });
    cli.add_option(
        "--max-login-failures", "N",
        "after N wrong passwords in a minute from one client address, its logins are "
        "refused until the minute is over (default 10; 0: no limit)",
        [&](const std::string& value) { config.max_login_failures = parse_count(value); });
    cli.add_option("--log-refusals", "N",
                   "at most N refused-session lines a minute from one client address; the rest "
                   "are counted in one 'similar lines suppressed' line (default 600; 0: no limit)",
                   [&](const std::string& value) { config.log_refusals = parse_count(value); });
    cli.add_option("--max-lookups", "N",
                   "at most N DNS lookups at once, late ones included; more names get reply 04 "
                   "at once (default 1000; 0: no limit)",
                   [&](const std::string& value) { config.max_lookups = parse_count(value); });
    cli.add_option(
        "--handshake-timeout", "SECONDS",
        "time a client has to send its greeting, authentication and request (default 10; "
        "0: no limit)",
        [&](const std::string& value) { config.handshake_timeout = parse_seconds(value); });
    cli.add_option("--idle-timeout", "SECONDS",
                   "end a relayed session or UDP association after this long without traffic "
                   "(default 600; 0: never)",
                   [&](const std::string& value) { config.idle_timeout = parse_seconds(value); });
    cli.add_option("--keepalive", "SECONDS",
                   "TCP keepalive on client and target connections: first probe after SECONDS "
                   "idle, then 6 more 10 s apart (default 60; 0: off)",
                   [&](const std::string& value) {
                       config.keepalive = std::chrono::seconds(parse_count(value));
                   });
    cli.add_option(
        "--connect-timeout", "SECONDS",
        "time allowed for looking a name up, and for connecting to one destination address "
        "(default 10)",
        [&](const std::string& value) { config.connect_timeout = parse_seconds(value); });
    cli.add_option("--bind-timeout", "SECONDS",
                   "how long BIND waits for the inbound connection (default 30)",
                   [&](const std::string& value) { config.bind_timeout = parse_seconds(value); });
    cli.add_option("--shutdown-grace", "SECONDS",
                   "on SIGTERM/SIGINT, time sessions get to finish before they are cut (default 5)",
                   [&](const std::string& value) { config.shutdown_grace = parse_seconds(value); });
    cli.add_option("--thread-stack", "KIB",
                   "stack size of each session thread in KiB (default 256)",
                   [&](const std::string& value) {
                       config.thread_stack_kib = parse_count(value);
                       if (config.thread_stack_kib < 64) throw std::invalid_argument("at least 64");
                   });
    cli.add_option("--spare-threads", "N",
                   "session threads kept waiting for the next session, each for up to 1 s "
                   "(default 16; 0: a new thread for every session)",
                   [&](const std::string& value) { config.spare_threads = parse_count(value); });
    cli.add_option("--relay", "KIND",
                   "splice (default): bulk data moves socket-pipe-socket with splice(2); copy: "
                   "chapter 05's relay, for comparison",
                   [&](const std::string& value) {
                       if (value != "splice" && value != "copy")
                           throw std::invalid_argument("expected splice or copy");
                       config.splice_relay = value == "splice";
                   });
    cli.add_option("--log-level", "LEVEL", "debug, info (default), warn or error",
                   [&](const std::string& value) {
                       if (value == "debug")
                           config.log_level = LogLevel::Debug;
                       else if (value == "info")
                           config.log_level = LogLevel::Info;
                       else if (value == "warn")
                           config.log_level = LogLevel::Warn;
                       else if (value == "error")
                           config.log_level = LogLevel::Error;
                       else
                           throw std::invalid_argument("expected debug, info, warn or error");
                   });
    cli.add_option("--log-format", "FORMAT",
                   "text (default): access lines as key=value; json: one JSON object per "
                   "session (the other lines stay text)",
                   [&](const std::string& value) {
                       if (value != "text" && value != "json")
                           throw std::invalid_argument("expected text or json");
                       config.log_json = value == "json";
                   });
    cli.add_option("--health-from", "CIDR",
                   "a connection from here that closes before sending anything is a health "
                   "check: no access line for it (repeatable)",
                   [&](const std::string& value) {
                       auto network = Network::parse(value);
                       if (!network) throw std::invalid_argument("expected an address or CIDR");
                       config.health_from.push_back(*network);
                   });
    add_trace_option(cli, config.trace);
    cli.add_flag("--reuse-port",
                 "let several socks5-server processes listen on the same port (SO_REUSEPORT); "
                 "the kernel spreads new connections over them",
                 [&] { config.reuse_port = true; });
    cli.add_flag("--allow-open-proxy",
                 "allow listening on a non-loopback address with no --user and no --allow rule",
                 [&] { config.allow_open_proxy = true; });
    bool version = false;
    cli.add_flag("--version", "print the version and exit", [&] { version = true; });

    config.listen = {Endpoint{"127.0.0.1", 1080}};
    if (auto status = cli.parse(argc, argv)) return *status;
    hide_passwords(argc, argv);
    if (version) {
        std::printf("socks5-server %s\n", SOCKS_VERSION);
        return 0;
    }
    std::vector<int> families;
    for (const SocketAddress& address : config.outgoing) {
        for (int family : families) {
            if (family == address.family()) {
                std::fprintf(stderr, "socks5-server: --outgoing-address: one address per family\n");
                return 2;
            }
        }
        families.push_back(address.family());
    }
    // Safe default: an open proxy on a reachable address is a gift to spammers.
    for (const Endpoint& where : config.listen) {
        if (is_loopback_host(where.host) || !config.users.empty() ||
            !config.rules.lets_anyone_in()) {
            continue;
        }
        if (!config.allow_open_proxy) {
            std::fprintf(stderr,
                         "socks5-server: refusing to listen on %s with no --user and no --allow "
                         "rule limited by from=: anyone who can reach it could use it.\nAdd "
                         "--user or --allow 'from=NETWORK ...', or --allow-open-proxy if that is "
                         "really what you want.\n",
                         to_string(where).c_str());
            return 2;
        }
        log_warn("listening on " + to_string(where) +
                 " as an OPEN proxy: no authentication and no --allow rule limited by from=");
    }
    return config;
}

}  // namespace socks
