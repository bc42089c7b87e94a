#include "targets.hpp"

#include <algorithm>

namespace socks {

Resolved resolve_with_map(const Config& config, const Address& destination) {
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
    return resolve(destination);
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
