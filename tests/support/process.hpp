// Starting real programs from tests: a chapter's server on an ephemeral port,
// and clients such as curl or nc, always with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net.hpp"

namespace socks::test {

using namespace std::chrono_literals;

// Path of a built program, e.g. program_path("01-echo-server/echo-server").
std::string program_path(const std::string& relative);

// Runs a chapter program with `--listen 127.0.0.1:0` (unless `args` has a
// --listen) and reads its "listening on HOST:PORT" line. stderr is collected
// by a background thread, so the server never blocks on a full pipe.
class ServerProcess {
  public:
    ServerProcess(const std::string& program, std::vector<std::string> args = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    const Endpoint& endpoint() const { return endpoints_.front(); }
    const std::vector<Endpoint>& endpoints() const { return endpoints_; }
    std::uint16_t port() const { return endpoint().port; }
    std::string proxy() const { return to_string(endpoint()); }  // "127.0.0.1:PORT"
    pid_t pid() const { return pid_; }

    // Sends `signal` and waits (bounded); returns the exit status, or 128+signal
    // when the program was killed by a signal, or -1 if it did not end in time.
    int stop(int signal = 15, std::chrono::milliseconds timeout = 10s);
    bool running();

    std::string log() const;  // stderr so far
    // Waits until stderr contains `needle` `count` times; false on timeout.
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout = 10s,
                      int count = 1) const;
    int open_descriptors() const;  // entries in /proc/PID/fd
    int threads() const;           // "Threads:" in /proc/PID/status

  private:
    pid_t pid_ = -1;
    int exit_status_ = -1;
    std::vector<Endpoint> endpoints_;
    Fd stdout_, stderr_;
    std::thread stderr_reader_;
    mutable std::mutex mutex_;
    mutable std::condition_variable log_grew_;
    std::string log_;
};

struct CommandResult {
    int exit_code = -1;  // 128+signal when killed; -1 on timeout
    bool timed_out = false;
    std::string out, err;
};

// Runs argv[0] (searched in PATH) with `input` on stdin; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, std::string_view input = {},
                          std::chrono::milliseconds timeout = 20s);

// The program must be installed: tests fail, never skip, when a tool is missing.
bool have_program(const std::string& name);

// A loopback TCP client with a receive timeout, for tests that talk raw bytes.
Fd connect_client(const Endpoint& server, std::chrono::milliseconds timeout = 5s);

}  // namespace socks::test
