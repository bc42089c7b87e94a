// The four measurements. Each prints exactly one line on stdout, a JSON object
// (bench/compare reads it), and returns the exit status: 0 when every byte
// arrived as sent and every connection worked, 1 otherwise.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "socks_client.hpp"

namespace bench {

struct BenchOptions {
    std::string mode;   // throughput, connrate, latency, idle
    std::string label;  // copied into the result line (e.g. the server's name)
    Route route;
    // throughput
    bool upload = false;
    int streams = 1;
    std::uint64_t bytes = 256ull << 20;  // per stream
    // connrate
    int workers = 8;
    double seconds = 3;
    // latency
    int count = 20000;
    std::size_t size = 64;
    int pin_cpu = -1;  // -1: no pinning
    // idle
    int sessions = 1000;
    pid_t server_pid = 0;         // whose /proc entries to read (and its children's)
    std::uint16_t echo_port = 0;  // the echo target, started in a child process
};

int run_throughput(const BenchOptions& options);
int run_connrate(const BenchOptions& options);
int run_latency(const BenchOptions& options);
int run_idle(const BenchOptions& options);

// One result line: {"mode":"...","label":"...",...}.
class ResultLine {
  public:
    ResultLine(const BenchOptions& options);
    ResultLine& add(const std::string& key, double value);
    ResultLine& add(const std::string& key, std::uint64_t value);
    ResultLine& add(const std::string& key, const std::string& value);
    ResultLine& add(const std::string& key, bool value);
    void print() const;  // and flush

  private:
    std::string text_;
};

}  // namespace bench
