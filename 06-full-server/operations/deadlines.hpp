// Hard time limits for the handshake. One thread watches every session's
// deadline and shuts down the socket of a session that passes it, so a client
// that trickles one byte at a time cannot hold a thread longer than the limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "net.hpp"

namespace socks {

class Deadlines {
  public:
    using Clock = std::chrono::steady_clock;
    Deadlines();
    ~Deadlines();
    Deadlines(const Deadlines&) = delete;
    Deadlines& operator=(const Deadlines&) = delete;

    // While a Guard lives, `socket` is shut down (SHUT_RDWR) at `deadline`:
    // blocking reads on it return at once. Destroy the guard when the limited
    // phase is over, and before the socket closes.
    class Guard {
      public:
        Guard(Deadlines& owner, std::uint64_t id) : owner_(&owner), id_(id) {}
        ~Guard() { release(); }
        Guard(Guard&& other) noexcept : owner_(other.owner_), id_(other.id_) {
            other.owner_ = nullptr;
        }
        Guard(const Guard&) = delete;
        Guard& operator=(const Guard&) = delete;
        Guard& operator=(Guard&&) = delete;
        void release();
        bool expired() const;

      private:
        Deadlines* owner_;
        std::uint64_t id_;
    };
    Guard arm(const Fd& socket, Clock::time_point deadline);

  private:
    struct Entry {
        int fd;
        Clock::time_point deadline;
        bool expired = false;
    };
    void watch();

    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::uint64_t, Entry> entries_;
    std::uint64_t next_id_ = 0;
    // When the watcher wakes up next (min: it is awake, or not yet started,
    // and will look at every entry before it sleeps). A deadline no earlier
    // than that needs no wake-up call, which would cost every session a
    // context switch of the watcher.
    Clock::time_point next_wake_ = Clock::time_point::min();
    bool stopping_ = false;
    std::thread watcher_;
};

}  // namespace socks
