#include "targets.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "lookup.hpp"

namespace socks {

namespace {
// 0.0.0.0, :: and ::ffff:0.0.0.0 name no host, yet Linux delivers connect()
// and sendto() to them on this host: a way past any rule about 127.0.0.0/8
// or ::1 (the "0.0.0.0 day"). They are never a destination.
bool is_this_host(const SocketAddress& address) {
    static const auto any4 = Network::parse("0.0.0.0/32");  // matches ::ffff:0.0.0.0 too
    static const auto any6 = Network::parse("::/128");
    return any4->contains(address) || any6->contains(address);
}

// Any address of this host: loopback, or one an interface has now.
bool is_local_address(const SocketAddress& address) {
    static const auto v4_loopback = Network::parse("127.0.0.0/8");
    static const auto v6_loopback = Network::parse("::1/128");
    if (v4_loopback->contains(address) || v6_loopback->contains(address)) return true;
    ifaddrs* interfaces = nullptr;
    if (::getifaddrs(&interfaces) != 0) return true;  // cannot tell: assume the worst
    bool found = false;
    for (ifaddrs* i = interfaces; i != nullptr && !found; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        int family = i->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        SocketAddress local;
        local.size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        std::memcpy(&local.storage, i->ifa_addr, local.size);
        auto network = Network::parse(local.host());
        found = network && network->contains(address);
    }
    ::freeifaddrs(interfaces);
    return found;
}

Resolved resolve_or_map(const Config& config, const Address& destination) {
    if (destination.type == AddressType::DomainName) {
        auto mapped = config.hosts.find(normalize_host(destination.domain));
        if (mapped != config.hosts.end()) {
            Resolved result;
            for (SocketAddress address : mapped->second) {
                set_port(address, destination.port);
                result.addresses.push_back(address);
            }
            return result;
        }
    }
    // A silent DNS server must not hold the session longer than a silent
    // destination would: the lookup gets the connect timeout too.
    return resolve_within(destination, config.connect_timeout, config.max_lookups);
}
}  // namespace

Resolved resolve_with_map(const Config& config, const Address& destination) {
    Resolved result = resolve_or_map(config, destination);
    std::erase_if(result.addresses, is_this_host);
    if (result.addresses.empty() && result.failure == ReplyCode::Succeeded) {
        result.failure = ReplyCode::HostUnreachable;
        result.detail = destination.to_string() + " is this host's any-address, not a destination";
    }
    return result;
}

bool is_own_listener(const Config& config, const SocketAddress& destination) {
    for (const SocketAddress& listener : config.listening) {
        if (listener.port() != destination.port()) continue;
        if (is_this_host(listener)) {
            if (is_local_address(destination)) return true;
            continue;
        }
        auto network = Network::parse(listener.host());  // one address; mapped forms too
        if (network && network->contains(destination)) return true;
    }
    return false;
}

bool is_unspecified(const Address& address) {
    if (address.type == AddressType::DomainName) return address.domain == "0";
    std::size_t size = address.type == AddressType::IPv4 ? 4 : 16;
    return std::all_of(address.ip.begin(), address.ip.begin() + static_cast<std::ptrdiff_t>(size),
                       [](std::uint8_t b) { return b == 0; });
}

// Resolves, applies the rules to every address, and connects to the first
// allowed one that answers, from --outgoing-address when given.
Dialed dial_allowed(const Config& config, const SocketAddress& peer, Command command,
                    const Address& destination) {
    Dialed result;
    Resolved resolved = resolve_with_map(config, destination);
    if (resolved.addresses.empty()) {
        result.code = resolved.failure;
        result.detail = resolved.detail;
        return result;
    }
    result.code = ReplyCode::NotAllowedByRuleset;
    // A name with one address that is this server is a loop attempt, whatever
    // its other addresses: refused as a whole, before any rule.
    for (const SocketAddress& candidate : resolved.addresses) {
        if (is_own_listener(config, candidate)) {
            result.detail = candidate.to_string() + " is this server's own listening address";
            return result;
        }
    }
    for (const SocketAddress& candidate : resolved.addresses) {
        std::string rule;
        RuleInput input{&peer, command, &destination, &candidate, destination.port};
        if (!config.rules.allows(input, &rule)) {
            if (result.code == ReplyCode::NotAllowedByRuleset) {
                result.detail = "denied " + candidate.to_string() + " by rule '" + rule + "'";
            }
            continue;
        }
        const SocketAddress* bind_to = outgoing_for(config, candidate.family());
        if (!config.outgoing.empty() && bind_to == nullptr) {
            result.code = ReplyCode::NetworkUnreachable;
            result.detail = "no --outgoing-address for " + candidate.to_string();
            continue;
        }
        result = connect_first({candidate}, config.connect_timeout, bind_to);
        if (result.code == ReplyCode::Succeeded) break;
    }
    return result;
}

const SocketAddress* outgoing_for(const Config& config, int family) {
    for (const SocketAddress& local : config.outgoing) {
        if (local.family() == family) return &local;
    }
    return nullptr;
}

}  // namespace socks
