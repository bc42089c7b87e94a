#include "udp_relay.hpp"

#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <unordered_map>
#include <vector>

#include "datagram.hpp"
#include "log.hpp"
#include "message.hpp"
#include "rules.hpp"
#include "targets.hpp"

namespace socks {

namespace {

Fd udp_socket(const SocketAddress& bind_to) {
    Fd socket(::socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket) throw_errno("socket");
    if (::bind(socket.get(), bind_to.get(), bind_to.size) < 0) throw_errno("bind");
    return socket;
}

SocketAddress any_address(int family) {
    SocketAddress address;
    address.storage.ss_family = static_cast<sa_family_t>(family);
    address.size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    return address;
}

// (host, port) as a comparable key.
std::string key_of(const SocketAddress& address) {
    return address.to_string();
}

bool same_host(const SocketAddress& a, const SocketAddress& b) {
    auto network = Network::parse(a.host());
    return network && network->contains(b);
}

using Clock = std::chrono::steady_clock;

// A cache with a size limit and a lifetime per entry: one association may
// name any number of destinations, and its memory must not grow with them.
// Full, it forgets the entry used least recently.
template <typename Value>
class BoundedCache {
  public:
    BoundedCache(std::size_t capacity, Clock::duration lifetime)
        : capacity_(capacity), lifetime_(lifetime) {}

    // The value, unless absent or older than the lifetime (then forgotten).
    const Value* find(const std::string& key, Clock::time_point now) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return nullptr;
        if (now - found->second.stored > lifetime_) {
            order_.erase(found->second.place);
            entries_.erase(found);
            return nullptr;
        }
        order_.splice(order_.end(), order_, found->second.place);  // used just now
        return &found->second.value;
    }
    // Stores (or refreshes) `key`; its lifetime starts again.
    void put(const std::string& key, Value value, Clock::time_point now) {
        if (auto found = entries_.find(key); found != entries_.end()) {
            found->second.value = std::move(value);
            found->second.stored = now;
            order_.splice(order_.end(), order_, found->second.place);
            return;
        }
        while (!entries_.empty() && entries_.size() >= capacity_) {
            entries_.erase(order_.front());
            order_.pop_front();
        }
        order_.push_back(key);
        entries_.emplace(key, Entry{std::move(value), now, std::prev(order_.end())});
    }
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        Value value;
        Clock::time_point stored;
        std::list<std::string>::iterator place;  // in order_
    };
    std::size_t capacity_;
    Clock::duration lifetime_;
    std::list<std::string> order_;  // least recently used first
    std::unordered_map<std::string, Entry> entries_;
};

// Names resolved once per association, each for a minute (a DNS answer may
// change), at most 256 of them. Only successful lookups are kept: an IP
// literal costs nothing to "resolve", and a failed or denied name would let a
// client fill the cache with names it made up.
constexpr std::size_t kNamesCached = 256;
constexpr auto kNameLifetime = std::chrono::seconds(60);
// Replies are accepted from a destination for two minutes after the client
// last sent to it (RFC 4787's shortest UDP mapping timeout), from at most
// 1024 destinations at once.
constexpr std::size_t kContactedKept = 1024;
constexpr auto kContactedLifetime = std::chrono::seconds(120);

// Returns the heap's free pages to the kernel when an association ends: its
// buffers were freed, but glibc keeps freed memory for reuse by default.
struct TrimHeapOnExit {
    ~TrimHeapOnExit() { ::malloc_trim(0); }
};

}  // namespace

UdpStats serve_udp_associate(const Config& config, const Fd& client, const SocketAddress& peer,
                             const Address& client_hint, const ReplySender& reply) {
    TrimHeapOnExit trim;  // declared first: runs after every buffer below is freed
    UdpStats stats;
    // The association as a whole: only a deny rule that matches without a
    // destination refuses it (--deny cmd=udp); each datagram is checked later.
    RuleInput association{&peer, Command::UdpAssociate, nullptr, nullptr, 0};
    if (const Rule* rule = config.rules.first_match(association); rule && !rule->allow) {
        reply(ReplyCode::NotAllowedByRuleset, {});
        stats.ended = "denied by rule '" + rule->text + "'";
        return stats;
    }

    SocketAddress here = local_address(client);
    set_port(here, 0);
    Fd relay = udp_socket(here);  // the client's side
    reply(ReplyCode::Succeeded, address_from(local_address(relay)));

    // Where the client's datagrams may come from: its TCP host, and the port
    // it announced (or, if it announced 0, the port of its first datagram).
    std::optional<SocketAddress> client_udp;
    std::uint16_t expected_port = client_hint.port;

    Fd out4, out6;  // the targets' side, one per family
    BoundedCache<bool> contacted(kContactedKept, kContactedLifetime);  // replies only from these
    BoundedCache<Resolved> names(kNamesCached, kNameLifetime);
    std::vector<std::uint8_t> buffer(65536);

    auto drop = [&](const std::string& why) {
        ++stats.dropped;
        log_debug(peer.to_string() + " UDP: dropped a datagram: " + why);
    };

    for (;;) {
        std::vector<pollfd> fds{{client.get(), POLLIN, 0}, {relay.get(), POLLIN, 0}};
        if (out4) fds.push_back({out4.get(), POLLIN, 0});
        if (out6) fds.push_back({out6.get(), POLLIN, 0});
        int timeout =
            config.idle_timeout.count() > 0 ? static_cast<int>(config.idle_timeout.count()) : -1;
        int ready = ::poll(fds.data(), fds.size(), timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (ready == 0) {
            stats.ended = "idle timeout";
            return stats;
        }
        if (fds[0].revents != 0) {
            // The association lives exactly as long as its TCP connection.
            std::uint8_t ignored[512];
            ssize_t n = ::recv(client.get(), ignored, sizeof ignored, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                stats.ended = "control connection closed";
                return stats;
            }
        }
        if (fds[1].revents & POLLIN) {  // client -> target
            SocketAddress from;
            from.size = sizeof from.storage;
            ssize_t n = ::recvfrom(relay.get(), buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from.storage), &from.size);
            if (n >= 0) {
                ByteView datagram(buffer.data(), static_cast<std::size_t>(n));
                // BEGIN SOLUTION ch06: accept a datagram only from the client's host (and, once known, its UDP port) and with FRAG 0, else drop(reason) it (the association goes on); then send DATA to DST if the rules allow it
                if (!same_host(peer, from)) {
                    drop("from " + from.to_string() + ", not the client's host " + peer.host());
                } else if (expected_port != 0 && from.port() != expected_port) {
                    drop("from port " + std::to_string(from.port()) + ", expected " +
                         std::to_string(expected_port));
                } else if (auto parsed = parse_udp_header(datagram);
                           auto* error = std::get_if<ParseError>(&parsed)) {
                    drop(error->reason);
                } else if (const UdpHeader& header = std::get<UdpHeader>(parsed);
                           header.fragment != 0) {
                    drop("FRAG " + std::to_string(header.fragment) +
                         ": fragments are not supported");
                } else {
                    expected_port = from.port();  // learned from the first datagram
                    client_udp = from;
                    if (const MessageObserver* observer = message_observer()) {
                        (*observer)(true, "udp-datagram", datagram);
                    }
                    const Address& to = header.destination;
                    auto now = Clock::now();
                    std::string name_key = to.to_string();
                    Resolved resolved;
                    bool was_cached = false;
                    if (to.type == AddressType::DomainName) {
                        if (const Resolved* cached = names.find(name_key, now)) {
                            resolved = *cached;
                            was_cached = true;
                        }
                    }
                    if (!was_cached) resolved = resolve_with_map(config, to);
                    const SocketAddress* target = nullptr;
                    std::string rule;
                    for (const SocketAddress& candidate : resolved.addresses) {
                        if (is_own_listener(config, candidate)) {
                            rule = "this server's own listening address";
                            continue;
                        }
                        RuleInput input{&peer, Command::UdpAssociate, &to, &candidate, to.port};
                        if (config.rules.allows(input, &rule)) {
                            target = &candidate;
                            break;
                        }
                    }
                    if (target == nullptr) {
                        drop(resolved.addresses.empty()
                                 ? resolved.detail
                                 : "to " + to.to_string() + " denied by rule '" + rule + "'");
                    } else {
                        if (to.type == AddressType::DomainName && !was_cached) {
                            names.put(name_key, resolved, now);
                        }
                        Fd& out = target->family() == AF_INET ? out4 : out6;
                        if (!out) {
                            const SocketAddress* local = outgoing_for(config, target->family());
                            out = udp_socket(local ? *local : any_address(target->family()));
                        }
                        ByteView data = datagram.subspan(header.size);
                        if (::sendto(out.get(), data.data(), data.size(), 0, target->get(),
                                     target->size) >= 0) {
                            contacted.put(key_of(*target), true, now);
                            ++stats.datagrams_up;
                            stats.bytes_up += data.size();
                        } else {
                            drop(std::string("sendto ") + target->to_string() + ": " +
                                 std::strerror(errno));
                        }
                    }
                }
                // END SOLUTION
            }
        }
        for (std::size_t i = 2; i < fds.size(); ++i) {  // target -> client
            if ((fds[i].revents & POLLIN) == 0) continue;
            SocketAddress from;
            from.size = sizeof from.storage;
            ssize_t n = ::recvfrom(fds[i].fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from.storage), &from.size);
            if (n < 0) continue;
            if (!client_udp || contacted.find(key_of(from), Clock::now()) == nullptr) {
                drop("from " + from.to_string() + ", which the client never sent to");
                continue;
            }
            Bytes wrapped = serialize_udp_datagram(
                address_from(from), ByteView(buffer.data(), static_cast<std::size_t>(n)));
            if (const MessageObserver* observer = message_observer()) {
                (*observer)(false, "udp-datagram", wrapped);
            }
            if (::sendto(relay.get(), wrapped.data(), wrapped.size(), 0, client_udp->get(),
                         client_udp->size) >= 0) {
                ++stats.datagrams_down;
                stats.bytes_down += static_cast<std::uint64_t>(n);
            } else {
                drop(std::string("sendto client: ") + std::strerror(errno));
            }
        }
    }
}

}  // namespace socks
