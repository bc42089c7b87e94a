#include "lookup.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "log.hpp"

namespace socks {

namespace {
std::atomic<std::size_t> running{0};

// What the lookup thread and the waiting session share. Whichever of them
// lets go last frees it (shared_ptr), so a session may stop waiting at any time.
struct Lookup {
    std::mutex mutex;
    std::condition_variable finished;
    std::optional<Resolved> result;
};

Resolved unanswered(const Address& destination, const std::string& why) {
    Resolved failed;
    failed.failure = ReplyCode::HostUnreachable;
    failed.detail = "resolve " + printable(destination.domain) + ": " + why;
    return failed;
}
}  // namespace

Resolved resolve_within(const Address& destination, std::chrono::milliseconds deadline,
                        std::size_t max_waiting) {
    if (!asks_dns(destination)) return resolve(destination);
    if (running.fetch_add(1) >= max_waiting && max_waiting != 0) {
        running.fetch_sub(1);
        return unanswered(destination, std::to_string(max_waiting) +
                                           " lookups are already waiting for the DNS server");
    }
    std::shared_ptr<Lookup> lookup;
    try {
        lookup = std::make_shared<Lookup>();
        std::thread([lookup, destination] {
            Resolved result = resolve(destination);
            // Counted out before the answer is handed over: the session may
            // start its next lookup the moment it has this one.
            running.fetch_sub(1);
            {
                std::lock_guard lock(lookup->mutex);
                lookup->result = std::move(result);
            }
            lookup->finished.notify_one();
        }).detach();
    } catch (const std::exception& error) {  // no thread (or no memory) for it
        running.fetch_sub(1);
        return unanswered(destination, std::string("no thread for the lookup: ") + error.what());
    }
    std::unique_lock lock(lookup->mutex);
    if (!lookup->finished.wait_for(lock, deadline, [&] { return lookup->result.has_value(); })) {
        return unanswered(destination, "no answer from the DNS server within " +
                                           std::to_string(deadline.count()) +
                                           " ms (--connect-timeout)");
    }
    return std::move(*lookup->result);
}

}  // namespace socks
