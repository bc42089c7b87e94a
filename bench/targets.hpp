// The destinations the load generator talks to, through the proxy or directly:
// a source that sends a known byte pattern, a sink that checks it, and an echo
// server. They run in the load generator's own process, on loopback.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "net.hpp"

namespace bench {

// The stream every throughput test sends: one pseudo-random block, repeated.
// Its period is not a power of two, so a lost, doubled or reordered chunk of any
// usual buffer size (4 KiB, 64 KiB, a pipe's worth) shows up as a mismatch.
class Pattern {
  public:
    static constexpr std::size_t period = (1u << 20) + 4093;
    static const Pattern& get();
    // The stream's bytes from `offset` on: at least `period` of them are contiguous.
    const std::uint8_t* at(std::uint64_t offset) const { return bytes_.data() + offset % period; }

  private:
    Pattern();
    std::vector<std::uint8_t> bytes_;  // two periods back to back
};

// Accepts on 127.0.0.1 (ephemeral port) and runs `serve` in a new thread for
// each connection. The threads are detached: the load generator ends with
// _Exit once its result is printed, so nothing waits for them.
class ThreadedTarget {
  public:
    ThreadedTarget();
    virtual ~ThreadedTarget() = default;
    ThreadedTarget(const ThreadedTarget&) = delete;
    ThreadedTarget& operator=(const ThreadedTarget&) = delete;
    std::uint16_t port() const { return port_; }
    void start();

  protected:
    virtual void serve(socks::Fd connection) = 0;

  private:
    socks::Fd listener_;
    std::uint16_t port_ = 0;
};

// Waits for one byte ("go") from the client, then sends `bytes` bytes of the
// pattern, then FIN, then waits for the client to close.
class SourceTarget : public ThreadedTarget {
  public:
    explicit SourceTarget(std::uint64_t bytes) : bytes_(bytes) {}

  private:
    void serve(socks::Fd connection) override;
    std::uint64_t bytes_;
};

// Reads exactly `bytes` bytes, comparing each with the pattern, and counts the
// streams that arrived whole. The client learns the outcome from wait(), in
// process: no reply has to travel back through the proxy.
class SinkTarget : public ThreadedTarget {
  public:
    explicit SinkTarget(std::uint64_t bytes) : bytes_(bytes) {}
    // True when `streams` streams arrived whole; false (with `error`) when one
    // failed or `timeout` passed first.
    bool wait(int streams, std::chrono::milliseconds timeout, std::string& error);

  private:
    void serve(socks::Fd connection) override;
    void finish(bool ok, const std::string& why);
    std::uint64_t bytes_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int completed_ = 0;
    std::string failure_;
};

// Echoes every byte back, for any number of connections, from one epoll thread
// (thousands of idle sessions must not cost thousands of threads here).
class EchoTarget {
  public:
    EchoTarget();
    std::uint16_t port() const { return port_; }
    void start();             // in a thread of this process
    [[noreturn]] void run();  // in the calling thread, forever

  private:
    socks::Fd listener_;
    std::uint16_t port_ = 0;
};

}  // namespace bench
