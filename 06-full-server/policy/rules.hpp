// --allow / --deny: who may reach what. Rules are checked in order and the
// first one that matches decides; when none matches, the default applies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net.hpp"
#include "request.hpp"

namespace socks {

// An IPv4 or IPv6 network ("10.0.0.0/8", "::1/128", "127.0.0.1" = /32).
// IPv4-mapped IPv6 addresses (::ffff:10.1.2.3) are matched as the IPv4 address
// they carry, so one destination cannot slip past a rule by changing its spelling.
// An address as 4 bytes (IPv4, also when written as IPv4-mapped IPv6) or 16.
struct RawAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
};
RawAddress raw_address(const SocketAddress& address);

struct Network {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 0;

    static std::optional<Network> parse(std::string_view text);
    bool contains(const SocketAddress& address) const;
};

// Everything a rule can look at. `destination_address` is one resolved
// address of the destination (rules are checked for each address we would dial).
struct RuleInput {
    const SocketAddress* client = nullptr;
    Command command = Command::Connect;
    const Address* destination = nullptr;  // as the client wrote it
    const SocketAddress* destination_address = nullptr;
    std::uint16_t port = 0;
};

// One rule: "from=127.0.0.0/8 to=.example.com port=80-443 cmd=connect" — all
// given terms must match; "all" (or no term) matches everything.
struct Rule {
    bool allow = true;
    std::string text;  // as written, for the log
    std::optional<Network> from;
    std::optional<Network> to_network;
    std::optional<std::string> to_host;  // a name and its subdomains, normalised
    std::optional<std::pair<std::uint16_t, std::uint16_t>> ports;
    std::optional<Command> command;

    // Throws std::invalid_argument naming the bad term.
    static Rule parse(bool allow, const std::string& text);
    bool matches(const RuleInput& input) const;
};

class Rules {
  public:
    void add(Rule rule) { rules_.push_back(std::move(rule)); }
    bool empty() const { return rules_.empty(); }
    bool has_allow_rule() const;
    // True when some client at any address may be allowed in: there is no
    // --allow rule (the default allows), or one without a narrower from=.
    bool lets_anyone_in() const;
    // The first matching rule decides. With no match: allowed, unless some
    // --allow rule exists (then only what is allowed explicitly may pass).
    // Link-local destinations (169.254.0.0/16, fe80::/10: cloud metadata) are
    // denied unless the deciding rule is an --allow whose to= contains them.
    // `matched` receives the deciding rule's text ("default" otherwise).
    bool allows(const RuleInput& input, std::string* matched = nullptr) const;
    // The first rule that matches, or nullptr.
    const Rule* first_match(const RuleInput& input) const;

  private:
    std::vector<Rule> rules_;
};

// Lower case, without trailing dots: "Example.COM." -> "example.com".
std::string normalize_host(std::string_view host);

}  // namespace socks
