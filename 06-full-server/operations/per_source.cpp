#include "per_source.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "rules.hpp"

namespace socks {

namespace {
constexpr std::chrono::minutes kMinute{1};
}  // namespace

std::string PerSource::source_of(const SocketAddress& peer) {
    RawAddress address = raw_address(peer);  // ::ffff:a.b.c.d is the IPv4 client a.b.c.d
    char text[INET6_ADDRSTRLEN];
    if (!address.v6) {
        ::inet_ntop(AF_INET, address.bytes.data(), text, sizeof text);
        return text;
    }
    std::fill(address.bytes.begin() + 8, address.bytes.end(), std::uint8_t{0});
    ::inet_ntop(AF_INET6, address.bytes.data(), text, sizeof text);
    return std::string(text) + "/64";
}

void PerSource::Minute::roll(Clock::time_point now) {
    if (count == 0 || now - start >= kMinute) {
        start = now;
        count = 0;
    }
}

PerSource::Slot::~Slot() {
    if (owner_ == nullptr) return;
    std::lock_guard lock(owner_->mutex_);
    --source_->sessions;
}

PerSource::Slot PerSource::enter(const SocketAddress& peer) {
    std::string source = source_of(peer);
    std::lock_guard lock(mutex_);
    sweep(now_());
    Source& state = sources_[source];
    if (limits_.sessions != 0 && state.sessions >= limits_.sessions) return Slot();
    ++state.sessions;
    return Slot(this, &state);
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
