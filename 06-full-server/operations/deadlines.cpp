#include "deadlines.hpp"

#include <sys/socket.h>

namespace socks {

Deadlines::Deadlines() : watcher_([this] { watch(); }) {}

Deadlines::~Deadlines() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    watcher_.join();
}

Deadlines::Guard Deadlines::arm(const Fd& socket, Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_id_++;
    entries_[id] = Entry{socket.get(), deadline};
    if (deadline < next_wake_) changed_.notify_all();
    return Guard(*this, id);
}

void Deadlines::Guard::release() {
    if (owner_ == nullptr) return;
    std::lock_guard lock(owner_->mutex_);
    owner_->entries_.erase(id_);
    owner_ = nullptr;
}

bool Deadlines::Guard::expired() const {
    if (owner_ == nullptr) return false;
    std::lock_guard lock(owner_->mutex_);
    auto it = owner_->entries_.find(id_);
    return it != owner_->entries_.end() && it->second.expired;
}

void Deadlines::watch() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        auto next = Clock::time_point::max();
        auto now = Clock::now();
        for (auto& [id, entry] : entries_) {
            if (entry.expired) continue;
            if (entry.deadline <= now) {
                // The guard is still alive (it erases the entry under this same
                // lock before the socket closes), so fd is still this session's.
                ::shutdown(entry.fd, SHUT_RDWR);
                entry.expired = true;
            } else if (entry.deadline < next) {
                next = entry.deadline;
            }
        }
        next_wake_ = next;
        if (next == Clock::time_point::max()) {
            changed_.wait(lock);
        } else {
            changed_.wait_until(lock, next);
        }
        next_wake_ = Clock::time_point::min();  // awake: it rescans before sleeping again
    }
}

}  // namespace socks
