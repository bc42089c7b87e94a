#include "rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace socks {

namespace {

bool is_v4_mapped(const std::uint8_t* b) {
    static const std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(b, prefix, 12) == 0;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size() || value > 65535) return {};
    return static_cast<std::uint16_t>(value);
}

// A host name as DNS writes it: labels of letters, digits, '-' and '_', up
// to 63 bytes each. The last label must not be a number ("127.1", "127.0.0.01",
// "0x7f000001"): the resolver reads those as IPv4 addresses in the old
// inet_aton spellings, so as a name rule they would silently never match.
// Anything with '/' or ':' was meant as a network and did not parse as one.
bool is_host_name(const std::string& host) {
    if (host.size() > 253) return false;
    std::string_view rest = host, label;
    while (!rest.empty()) {
        auto dot = rest.find('.');
        label = rest.substr(0, dot);
        if (label.empty() || label.size() > 63) return false;
        for (char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        }
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        if (dot != std::string_view::npos && rest.empty()) return false;
    }
    bool decimal = label.find_first_not_of("0123456789") == std::string_view::npos;
    bool hex = label.starts_with("0x") &&
               label.find_first_not_of("0123456789abcdef", 2) == std::string_view::npos;
    return !decimal && !hex;
}

}  // namespace

std::optional<Network> Network::parse(std::string_view text) {
    Network network;
    std::string address(text.substr(0, text.find('/')));
    std::uint8_t buffer[16];
    int mapped_bits = 0;  // the 96 bits of "::ffff:" in front of a mapped IPv4 network
    if (::inet_pton(AF_INET, address.c_str(), buffer) == 1) {
        std::memcpy(network.bytes.data(), buffer, 4);
        network.prefix = 32;
    } else if (::inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
        if (is_v4_mapped(buffer)) {  // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8
            std::memcpy(network.bytes.data(), buffer + 12, 4);
            network.prefix = 32;
            mapped_bits = 96;
        } else {
            network.v6 = true;
            std::memcpy(network.bytes.data(), buffer, 16);
            network.prefix = 128;
        }
    } else {
        return std::nullopt;
    }
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        auto prefix = parse_port(text.substr(slash + 1));
        if (!prefix || *prefix < mapped_bits || *prefix - mapped_bits > network.prefix)
            return std::nullopt;
        network.prefix = *prefix - mapped_bits;
    }
    return network;
}

RawAddress raw_address(const SocketAddress& address) {
    RawAddress r;
    if (address.family() == AF_INET) {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
        std::memcpy(r.bytes.data(), &v4->sin_addr, 4);
    } else if (address.family() == AF_INET6) {
        auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
        const auto* b = reinterpret_cast<const std::uint8_t*>(&v6->sin6_addr);
        if (is_v4_mapped(b)) {
            std::memcpy(r.bytes.data(), b + 12, 4);
        } else {
            r.v6 = true;
            std::memcpy(r.bytes.data(), b, 16);
        }
    }
    return r;
}

bool Network::contains(const SocketAddress& address) const {
    RawAddress r = raw_address(address);
    if (r.v6 != v6) return false;
    int whole = prefix / 8, bits = prefix % 8;
    if (std::memcmp(r.bytes.data(), bytes.data(), static_cast<std::size_t>(whole)) != 0)
        return false;
    if (bits == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
    return (r.bytes[static_cast<std::size_t>(whole)] & mask) ==
           (bytes[static_cast<std::size_t>(whole)] & mask);
}

std::string normalize_host(std::string_view host) {
    while (!host.empty() && host.back() == '.')
        host.remove_suffix(1);
    std::string text(host);
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

Rule Rule::parse(bool allow, const std::string& text) {
    Rule rule;
    rule.allow = allow;
    rule.text = (allow ? "allow " : "deny ") + text;
    std::istringstream terms(text);
    std::string term;
    while (terms >> term) {
        if (term == "all") continue;
        auto eq = term.find('=');
        if (eq == std::string::npos) {
            throw std::invalid_argument("'" + term +
                                        "' is not KEY=VALUE (from, to, port, cmd) or all");
        }
        std::string key = term.substr(0, eq), value = term.substr(eq + 1);
        if (key == "from") {
            rule.from = Network::parse(value);
            if (!rule.from) throw std::invalid_argument("from=" + value + ": not an IP network");
        } else if (key == "to") {
            if (auto network = Network::parse(value)) {
                rule.to_network = network;
            } else {
                std::string host = normalize_host(value);
                while (host.starts_with('.'))
                    host.erase(0, 1);
                if (host.empty()) throw std::invalid_argument("to=" + value + ": empty host name");
                if (!is_host_name(host)) {
                    throw std::invalid_argument(
                        "to=" + value +
                        ": not a network (10.0.0.0/8, ::1/128), an address or a host name");
                }
                rule.to_host = host;
            }
        } else if (key == "port") {
            auto dash = value.find('-');
            auto low = parse_port(value.substr(0, dash));
            auto high = dash == std::string::npos ? low : parse_port(value.substr(dash + 1));
            if (!low || !high || *low > *high) {
                throw std::invalid_argument("port=" + value + ": expected PORT or LOW-HIGH");
            }
            rule.ports = {*low, *high};
        } else if (key == "cmd") {
            if (value == "connect")
                rule.command = Command::Connect;
            else if (value == "bind")
                rule.command = Command::Bind;
            else if (value == "udp")
                rule.command = Command::UdpAssociate;
            else
                throw std::invalid_argument("cmd=" + value + ": expected connect, bind or udp");
        } else {
            throw std::invalid_argument("unknown key '" + key + "' (from, to, port, cmd)");
        }
    }
    return rule;
}

bool Rule::matches(const RuleInput& input) const {
    // BEGIN SOLUTION ch06: true when every term the rule has (from, cmd, port, to network, to host) matches the input; to=HOST also matches its subdomains, compared with normalize_host
    if (from && !(input.client && from->contains(*input.client))) return false;
    if (command && *command != input.command) return false;
    if (ports && (input.port < ports->first || input.port > ports->second)) return false;
    if (to_network &&
        !(input.destination_address && to_network->contains(*input.destination_address))) {
        return false;
    }
    if (to_host) {
        if (!input.destination || input.destination->type != AddressType::DomainName) return false;
        std::string host = normalize_host(input.destination->domain);
        bool same = host == *to_host;
        bool below = host.size() > to_host->size() && host.ends_with("." + *to_host);
        if (!same && !below) return false;
    }
    return true;
    // END SOLUTION
}

bool Rules::has_allow_rule() const {
    for (const Rule& rule : rules_) {
        if (rule.allow) return true;
    }
    return false;
}

const Rule* Rules::first_match(const RuleInput& input) const {
    for (const Rule& rule : rules_) {
        if (rule.matches(input)) return &rule;
    }
    return nullptr;
}

bool Rules::lets_anyone_in() const {
    if (!has_allow_rule()) return true;  // the default allows
    for (const Rule& rule : rules_) {
        if (rule.allow && (!rule.from || rule.from->prefix == 0)) return true;
    }
    return false;
}

namespace {
// 169.254.0.0/16 and fe80::/10: link-local, where clouds answer with their
// instance metadata (credentials included) at 169.254.169.254.
bool is_link_local(const SocketAddress& address) {
    static const auto v4 = Network::parse("169.254.0.0/16");
    static const auto v6 = Network::parse("fe80::/10");
    return v4->contains(address) || v6->contains(address);
}
}  // namespace

bool Rules::allows(const RuleInput& input, std::string* matched) const {
    const Rule* rule = first_match(input);
    if (matched) *matched = rule ? rule->text : "default";
    bool allowed = rule ? rule->allow : !has_allow_rule();
    // Link-local destinations pass only a rule that names them in to=: an
    // "allow all" or a default allow does not reach the metadata service.
    if (allowed && input.destination_address && is_link_local(*input.destination_address) &&
        !(rule && rule->to_network && rule->to_network->contains(*input.destination_address))) {
        if (matched) *matched = "default deny of link-local destinations (allow them with to=)";
        return false;
    }
    return allowed;
}

}  // namespace socks
