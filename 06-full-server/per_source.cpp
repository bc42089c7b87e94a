#include "per_source.hpp"

#include <netinet/in.h>

#include <cstring>

namespace socks {

namespace {
constexpr std::chrono::minutes kMinute{1};
}  // namespace

std::string PerSource::source_of(const SocketAddress& peer) {
    if (peer.family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
        if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            SocketAddress prefix = peer;
            auto* bytes = reinterpret_cast<sockaddr_in6*>(&prefix.storage)->sin6_addr.s6_addr;
            std::memset(bytes + 8, 0, 8);
            return prefix.host() + "/64";
        }
        // ::ffff:a.b.c.d (a dual-stack listener) is the IPv4 client a.b.c.d.
        const std::uint8_t* b = v6->sin6_addr.s6_addr + 12;
        return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) +
               "." + std::to_string(b[3]);
    }
    return peer.host();
}

std::uint64_t PerSource::Minute::roll(Clock::time_point now) {
    std::uint64_t old = count;
    if (count == 0 || now - start >= kMinute) {
        start = now;
        count = 0;
        return old;
    }
    return 0;
}

PerSource::Slot::~Slot() {
    if (owner_ == nullptr) return;
    std::lock_guard lock(owner_->mutex_);
    auto it = owner_->sources_.find(source_);
    if (it != owner_->sources_.end() && it->second.sessions > 0) --it->second.sessions;
}

PerSource::Slot PerSource::enter(const SocketAddress& peer) {
    std::string source = source_of(peer);
    std::lock_guard lock(mutex_);
    sweep(now_());
    Source& state = sources_[source];
    if (limits_.sessions != 0 && state.sessions >= limits_.sessions) return Slot();
    ++state.sessions;
    return Slot(this, std::move(source));
}

bool PerSource::logins_refused(const SocketAddress& peer) {
    if (limits_.login_failures == 0) return false;
    std::lock_guard lock(mutex_);
    auto it = sources_.find(source_of(peer));
    if (it == sources_.end()) return false;
    Minute& failures = it->second.failures;
    failures.roll(now_());
    return failures.count >= limits_.login_failures;
}

void PerSource::login_failed(const SocketAddress& peer) {
    if (limits_.login_failures == 0) return;
    std::lock_guard lock(mutex_);
    Minute& failures = sources_[source_of(peer)].failures;
    failures.roll(now_());
    ++failures.count;
}

bool PerSource::may_log_refusal(const SocketAddress& peer, std::uint64_t& suppressed) {
    suppressed = 0;
    if (limits_.refusal_lines == 0) return true;
    std::lock_guard lock(mutex_);
    Source& state = sources_[source_of(peer)];
    state.lines.roll(now_());
    if (state.lines.count >= limits_.refusal_lines) {
        ++state.suppressed;
        return false;
    }
    ++state.lines.count;
    suppressed = state.suppressed;
    state.suppressed = 0;
    return true;
}

std::vector<std::pair<std::string, std::uint64_t>> PerSource::take_suppressed() {
    std::vector<std::pair<std::string, std::uint64_t>> result;
    std::lock_guard lock(mutex_);
    for (auto& [source, state] : sources_) {
        if (state.suppressed == 0) continue;
        result.emplace_back(source, state.suppressed);
        state.suppressed = 0;
    }
    return result;
}

std::size_t PerSource::tracked() const {
    std::lock_guard lock(mutex_);
    return sources_.size();
}

void PerSource::sweep(Clock::time_point now) {
    if (sources_.size() < sweep_at_) return;
    for (auto it = sources_.begin(); it != sources_.end();) {
        const Source& state = it->second;
        bool counting = (state.failures.count != 0 && now - state.failures.start < kMinute) ||
                        (state.lines.count != 0 && now - state.lines.start < kMinute);
        if (state.sessions == 0 && !counting && state.suppressed == 0) {
            it = sources_.erase(it);
        } else {
            ++it;
        }
    }
    sweep_at_ = std::max<std::size_t>(1024, 2 * sources_.size());
}

}  // namespace socks
