// Pressure from one client address: how many sessions it may hold at once, how
// many wrong passwords it may try in a minute, and how many refusal lines it
// may put in the log in a minute. --max-connections protects the server; this
// protects the other clients from one of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "net.hpp"

namespace socks {

class PerSource {
    struct Source;  // what is counted for one address (below)

  public:
    using Clock = std::chrono::steady_clock;
    struct Limits {
        std::size_t sessions = 0;        // at once; 0: no limit
        std::size_t login_failures = 0;  // a minute; then its logins are refused; 0: no limit
        std::size_t refusal_lines = 0;   // a minute; the rest are counted; 0: no limit
    };
    // `now` is the clock (a test passes its own, to step through minutes).
    explicit PerSource(Limits limits, std::function<Clock::time_point()> now = Clock::now)
        : limits_(limits), now_(std::move(now)) {}

    // Clients are counted by IPv4 address, and by /64 for IPv6: one host
    // usually holds a whole /64, and could take a new address per connection.
    static std::string source_of(const SocketAddress& peer);

    // One session of a source, counted while it lives. Small on purpose: it
    // lives in serve()'s frame, above the relay (docs/performance.md, section 3).
    class Slot {
      public:
        Slot() = default;
        Slot(PerSource* owner, Source* source) : owner_(owner), source_(source) {}
        Slot(Slot&& other) noexcept : owner_(other.owner_), source_(other.source_) {
            other.owner_ = nullptr;
        }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        Slot& operator=(Slot&&) = delete;
        ~Slot();
        bool admitted() const { return owner_ != nullptr; }

      private:
        PerSource* owner_ = nullptr;
        Source* source_ = nullptr;  // a map node: it stays put, and sweep() keeps it while counted
    };
    // Not admitted when the source already holds `Limits::sessions` sessions.
    Slot enter(const SocketAddress& peer);

    // Whether the source has used up its wrong passwords for this minute.
    bool logins_refused(const SocketAddress& peer);
    void login_failed(const SocketAddress& peer);

    // Whether to write one more refusal line for `peer`. When it returns true
    // after a minute in which lines were held back, `suppressed` says how many
    // (the caller logs that first); otherwise it is 0.
    bool may_log_refusal(const SocketAddress& peer, std::uint64_t& suppressed);
    // The sources whose lines were held back and not reported yet, and how many:
    // for the last word when the server stops.
    std::vector<std::pair<std::string, std::uint64_t>> take_suppressed();

    std::size_t tracked() const;  // sources held in memory (for tests)

  private:
    // A count that starts again a minute after its first event.
    struct Minute {
        Clock::time_point start{};
        std::uint64_t count = 0;
        // Starts a new minute when this one is over (or nothing was counted yet).
        void roll(Clock::time_point now);
    };
    struct Source {
        std::size_t sessions = 0;
        Minute failures;
        Minute lines;
        std::uint64_t suppressed = 0;
    };
    // Forgets sources with no session and nothing counted in their minute,
    // once the map has doubled since the last sweep: memory stays bounded by
    // the sources active in the last minute.
    void sweep(Clock::time_point now);

    Limits limits_;
    std::function<Clock::time_point()> now_;
    mutable std::mutex mutex_;
    std::map<std::string, Source> sources_;
    std::size_t sweep_at_ = 1024;
};

}  // namespace socks
