// socks-bench: the load generator behind bench/compare and docs/performance.md.
//
//   socks-bench throughput [--proxy 127.0.0.1:1080] [--up] [--streams N] [--bytes SIZE]
//   socks-bench connrate   [--proxy ...] [--user NAME:PASS] [--workers C] [--seconds T]
//   socks-bench latency    [--proxy ...] [--count N] [--size BYTES] [--pin CPU]
//   socks-bench idle       --proxy ... --pid SERVER_PID [--sessions N]
//
// Without --proxy it connects to its targets directly: the baseline. It starts
// its own targets on 127.0.0.1 (ephemeral ports), prints one JSON line, and
// ends by itself (--timeout, default 300 s).
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "cli.hpp"
#include "modes.hpp"
#include "targets.hpp"

namespace {

std::uint64_t parse_size(const std::string& text) {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    std::string unit = text.substr(used);
    double scale = unit.empty()                   ? 1.0
                   : unit == "K" || unit == "KiB" ? 1024.0
                   : unit == "M" || unit == "MiB" ? 1048576.0
                   : unit == "G" || unit == "GiB" ? 1073741824.0
                                                  : -1.0;
    if (scale < 0 || value <= 0) throw std::invalid_argument("expected e.g. 512M, 2G or 65536");
    return static_cast<std::uint64_t>(value * scale);
}

int parse_int(const std::string& text, int low) {
    std::size_t used = 0;
    int value = std::stoi(text, &used);
    if (used != text.size() || value < low)
        throw std::invalid_argument("expected a number >= " + std::to_string(low));
    return value;
}

// Thousands of sessions need thousands of descriptors: take the hard limit.
void raise_descriptor_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace

int main(int argc, char** argv) {
    bench::BenchOptions options;
    const std::string modes = "throughput, connrate, latency or idle";
    if (argc < 2 || std::string(argv[1]).starts_with("-")) {
        std::fprintf(stderr, "usage: socks-bench MODE [options]  (MODE: %s; MODE --help)\n",
                     modes.c_str());
        return 2;
    }
    options.mode = argv[1];
    if (options.mode != "throughput" && options.mode != "connrate" && options.mode != "latency" &&
        options.mode != "idle") {
        std::fprintf(stderr, "socks-bench: unknown mode '%s' (%s)\n", argv[1], modes.c_str());
        return 2;
    }
    double timeout_seconds = 300;
    socks::CommandLine cli("socks-bench " + options.mode,
                           "Load generator for SOCKS5 servers on loopback; prints one JSON line.");
    cli.add_option("--proxy", "IP:PORT", "go through this SOCKS5 proxy (default: direct)",
                   [&](const std::string& value) {
                       options.route.proxy = bench::parse_ipv4_endpoint(value);
                       if (!options.route.proxy) throw std::invalid_argument("expected IPv4:PORT");
                   });
    cli.add_option("--user", "NAME:PASSWORD", "log in with RFC 1929 username/password",
                   [&](const std::string& value) {
                       auto colon = value.find(':');
                       if (colon == std::string::npos || colon == 0 || colon > 255 ||
                           value.size() - colon - 1 > 255)
                           throw std::invalid_argument("expected NAME:PASSWORD");
                       options.route.user = value.substr(0, colon);
                       options.route.password = value.substr(colon + 1);
                   });
    cli.add_option("--label", "TEXT", "copied into the result line",
                   [&](const std::string& value) { options.label = value; });
    cli.add_option("--timeout", "SECONDS", "give up (exit 3) after this long (default 300)",
                   [&](const std::string& value) { timeout_seconds = parse_int(value, 1); });
    cli.add_flag("--up", "throughput: client to target (default: target to client)",
                 [&] { options.upload = true; });
    cli.add_option("--streams", "N", "throughput: parallel streams (default 1)",
                   [&](const std::string& value) { options.streams = parse_int(value, 1); });
    cli.add_option("--bytes", "SIZE", "throughput: bytes per stream, e.g. 2G (default 256M)",
                   [&](const std::string& value) { options.bytes = parse_size(value); });
    cli.add_option("--workers", "C", "connrate: parallel workers (default 8)",
                   [&](const std::string& value) { options.workers = parse_int(value, 1); });
    cli.add_option("--seconds", "T", "connrate: how long (default 3)",
                   [&](const std::string& value) {
                       options.seconds = std::stod(value);
                       if (!(options.seconds > 0)) throw std::invalid_argument("expected > 0");
                   });
    cli.add_option("--count", "N", "latency: round trips measured (default 20000)",
                   [&](const std::string& value) { options.count = parse_int(value, 1); });
    cli.add_option("--size", "BYTES", "latency: message size (default 64)",
                   [&](const std::string& value) {
                       options.size = static_cast<std::size_t>(parse_int(value, 1));
                   });
    cli.add_option("--pin", "CPU", "latency: pin the client to this CPU",
                   [&](const std::string& value) { options.pin_cpu = parse_int(value, 0); });
    cli.add_option("--sessions", "N", "idle: sessions to hold (default 1000)",
                   [&](const std::string& value) { options.sessions = parse_int(value, 1); });
    cli.add_option("--pid", "PID", "idle: the server process to measure (with its children)",
                   [&](const std::string& value) {
                       options.server_pid = static_cast<pid_t>(parse_int(value, 1));
                   });
    if (auto status = cli.parse(argc - 1, argv + 1)) return *status;
    if (options.mode == "idle" && (!options.route.proxy || options.server_pid == 0)) {
        std::fprintf(stderr, "socks-bench idle: needs --proxy and --pid\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    raise_descriptor_limit();

    if (options.mode == "idle") {
        // Each idle session costs two descriptors here (our end and the echo
        // target's end), so the echo target runs in a child process: each
        // process then needs one per session, and the limit applies per process.
        bench::EchoTarget echo;
        options.echo_port = echo.port();
        pid_t child = ::fork();
        if (child < 0) {
            std::perror("fork");
            return 1;
        }
        if (child == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the load generator
            if (::getppid() == 1) std::_Exit(0);
            echo.run();
        }
    }

    // A benchmark must end by itself, whatever the server under test does.
    std::thread([timeout_seconds, mode = options.mode] {
        std::this_thread::sleep_for(std::chrono::duration<double>(timeout_seconds));
        std::printf("{\"mode\":\"%s\",\"ok\":false,\"error\":\"timed out after %.0f s\"}\n",
                    mode.c_str(), timeout_seconds);
        std::fflush(stdout);
        std::_Exit(3);
    }).detach();

    int status = 1;
    try {
        if (options.mode == "throughput") status = bench::run_throughput(options);
        if (options.mode == "connrate") status = bench::run_connrate(options);
        if (options.mode == "latency") status = bench::run_latency(options);
        if (options.mode == "idle") status = bench::run_idle(options);
    } catch (const std::exception& error) {
        std::printf("{\"mode\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", options.mode.c_str(),
                    error.what());
    }
    std::fflush(stdout);
    // Targets and their threads are still running, by design: end at once
    // rather than tear them down one by one.
    std::_Exit(status);
}
