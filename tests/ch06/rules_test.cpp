// --allow / --deny on their own: networks, rule terms, host names and the
// order rules are checked in. No sockets: addresses are built from literals.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "config.hpp"
#include "helpers.hpp"
#include "rules.hpp"
#include "targets.hpp"

namespace socks {
namespace {

using ch06::ip;

Network network(const std::string& text) {
    auto parsed = Network::parse(text);
    if (!parsed) throw std::invalid_argument("Network::parse rejected " + text);
    return *parsed;
}

TEST(Network, ParsesAddressesAndPrefixes) {
    EXPECT_EQ(network("10.0.0.0/8").prefix, 8);
    EXPECT_FALSE(network("10.0.0.0/8").v6);
    EXPECT_EQ(network("127.0.0.1").prefix, 32);  // a bare address is one host
    EXPECT_EQ(network("::1").prefix, 128);
    EXPECT_TRUE(network("::1").v6);
    EXPECT_EQ(network("0.0.0.0/0").prefix, 0);
    EXPECT_EQ(network("::/0").prefix, 0);
    EXPECT_EQ(network("2001:db8::/32").prefix, 32);
}

TEST(Network, RejectsWhatIsNotANetwork) {
    for (const char* text :
         {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "::1/129",
          "10.0.0.256", "example.com", "10.0.0.0/8/8", "1.2.3", "::1/ 8", "fe80::1%lo"}) {
        EXPECT_FALSE(Network::parse(text)) << "'" << text << "' should not parse";
    }
}

TEST(Network, ContainsIpv4ByPrefix) {
    Network ten = network("10.0.0.0/8");
    EXPECT_TRUE(ten.contains(ip("10.0.0.0")));
    EXPECT_TRUE(ten.contains(ip("10.255.255.255")));
    EXPECT_FALSE(ten.contains(ip("11.0.0.0")));
    EXPECT_FALSE(ten.contains(ip("9.255.255.255")));
    // A prefix that does not end on a byte boundary.
    Network half = network("10.0.0.0/9");
    EXPECT_TRUE(half.contains(ip("10.127.255.255")));
    EXPECT_FALSE(half.contains(ip("10.128.0.0")));
    Network one = network("127.0.0.2");
    EXPECT_TRUE(one.contains(ip("127.0.0.2")));
    EXPECT_FALSE(one.contains(ip("127.0.0.1")));
    EXPECT_FALSE(one.contains(ip("127.0.0.3")));
    // The port is not part of the network.
    EXPECT_TRUE(one.contains(ip("127.0.0.2", 8080)));
}

TEST(Network, ContainsIpv6ByPrefix) {
    Network doc = network("2001:db8::/32");
    EXPECT_TRUE(doc.contains(ip("2001:db8::1")));
    EXPECT_TRUE(doc.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
    EXPECT_FALSE(doc.contains(ip("2001:db9::1")));
    Network link = network("fe80::/10");
    EXPECT_TRUE(link.contains(ip("fe80::1")));
    EXPECT_TRUE(link.contains(ip("febf::1")));
    EXPECT_FALSE(link.contains(ip("fec0::1")));
    Network loopback = network("::1/128");
    EXPECT_TRUE(loopback.contains(ip("::1")));
    EXPECT_FALSE(loopback.contains(ip("::2")));
    Network odd = network("2001:db8::/65");
    EXPECT_TRUE(odd.contains(ip("2001:db8:0:0:7fff::1")));
    EXPECT_FALSE(odd.contains(ip("2001:db8:0:0:8000::1")));
}

TEST(Network, ZeroPrefixMatchesItsWholeFamilyOnly) {
    Network any_v4 = network("0.0.0.0/0");
    EXPECT_TRUE(any_v4.contains(ip("1.2.3.4")));
    EXPECT_TRUE(any_v4.contains(ip("255.255.255.255")));
    EXPECT_FALSE(any_v4.contains(ip("::1")));
    Network any_v6 = network("::/0");
    EXPECT_TRUE(any_v6.contains(ip("::1")));
    EXPECT_TRUE(any_v6.contains(ip("2001:db8::1")));
    EXPECT_FALSE(any_v6.contains(ip("1.2.3.4")));
}

TEST(Network, Ipv4MappedAddressesAreMatchedAsIpv4) {
    // ::ffff:127.0.0.2 is 127.0.0.2 (an AF_INET6 socket connecting to it
    // reaches 127.0.0.2), so an IPv4 rule must catch it.
    EXPECT_TRUE(network("127.0.0.2").contains(ip("::ffff:127.0.0.2")));
    EXPECT_TRUE(network("127.0.0.0/8").contains(ip("::ffff:127.9.9.9")));
    EXPECT_FALSE(network("127.0.0.2").contains(ip("::ffff:127.0.0.3")));
    // And a rule written in the mapped form catches the plain IPv4 address.
    EXPECT_TRUE(network("::ffff:127.0.0.2").contains(ip("127.0.0.2")));
    EXPECT_TRUE(network("::ffff:127.0.0.2").contains(ip("::ffff:127.0.0.2")));
    // An IPv4-compatible or other IPv6 address is not the IPv4 address.
    EXPECT_FALSE(network("127.0.0.2").contains(ip("::127.0.0.2")));
    EXPECT_FALSE(network("127.0.0.2").contains(ip("64:ff9b::127.0.0.2")));
}

TEST(Network, MappedNetworkPrefixCountsTheMappedPrefix) {
    // The mapped form of 10.0.0.0/8 is ::ffff:10.0.0.0/104 (96 bits of prefix + 8).
    auto mapped = Network::parse("::ffff:10.0.0.0/104");
    ASSERT_TRUE(mapped) << "::ffff:10.0.0.0/104 should parse as the IPv4 network 10.0.0.0/8";
    EXPECT_TRUE(mapped->contains(ip("10.1.2.3")));
    EXPECT_TRUE(mapped->contains(ip("::ffff:10.1.2.3")));
    EXPECT_FALSE(mapped->contains(ip("11.1.2.3")));
    EXPECT_FALSE(Network::parse("::ffff:10.0.0.0/95")) << "a prefix shorter than the mapping";
}

TEST(RuleParse, RejectsBadTermsNamingThem) {
    struct Case {
        const char* text;
        const char* named;  // the message must mention this
    };
    for (const Case& c : std::initializer_list<Case>{
             {"nonsense", "nonsense"},
             {"from=example.com", "from=example.com"},
             {"from=10.0.0.0/33", "from=10.0.0.0/33"},
             {"from=", "from="},
             {"to=", "to="},
             {"to=...", "to=..."},
             {"port=70000", "port=70000"},
             {"port=10-5", "port=10-5"},
             {"port=abc", "port=abc"},
             {"port=", "port="},
             {"port=1-", "port=1-"},
             {"port=-1", "port=-1"},
             {"cmd=ping", "cmd=ping"},
             {"color=red", "color"},
             {"to=127.0.0.1 bogus", "bogus"},
             // Mistyped networks and old inet_aton spellings: never a host name.
             {"to=127.0.0.0/33", "to=127.0.0.0/33"},
             {"to=127.0.0.01", "to=127.0.0.01"},
             {"to=127.0.0.0/", "to=127.0.0.0/"},
             {"to=127.0.0.0/8,::1", "to=127.0.0.0/8,::1"},
             {"to=127.1", "to=127.1"},
             {"to=::ffff:127.0.0.0/8", "to=::ffff:127.0.0.0/8"},
             {"to=0x7f000001", "to=0x7f000001"},
             {"to=0177.0.0.1", "to=0177.0.0.1"},
             {"to=exa mple.com", "mple.com"},
             {"to=a..b", "to=a..b"},
         }) {
        try {
            Rule::parse(false, c.text);
            ADD_FAILURE() << "'" << c.text << "' should not parse";
        } catch (const std::invalid_argument& error) {
            EXPECT_NE(std::string(error.what()).find(c.named), std::string::npos)
                << "'" << c.text << "': " << error.what();
        }
    }
}

TEST(RuleParse, ReadsEveryTerm) {
    Rule rule = Rule::parse(false, "from=127.0.0.0/8 to=10.0.0.0/8 port=80-443 cmd=connect");
    EXPECT_FALSE(rule.allow);
    EXPECT_EQ(rule.text, "deny from=127.0.0.0/8 to=10.0.0.0/8 port=80-443 cmd=connect");
    ASSERT_TRUE(rule.from);
    EXPECT_EQ(rule.from->prefix, 8);
    ASSERT_TRUE(rule.to_network);
    EXPECT_FALSE(rule.to_host);
    ASSERT_TRUE(rule.ports);
    EXPECT_EQ(rule.ports->first, 80);
    EXPECT_EQ(rule.ports->second, 443);
    EXPECT_EQ(rule.command, Command::Connect);

    Rule host = Rule::parse(true, "to=.Example.TEST. port=8080 cmd=udp");
    EXPECT_TRUE(host.allow);
    EXPECT_EQ(host.to_host, "example.test");
    EXPECT_EQ(host.ports, (std::pair<std::uint16_t, std::uint16_t>{8080, 8080}));
    EXPECT_EQ(host.command, Command::UdpAssociate);
    EXPECT_EQ(Rule::parse(true, "cmd=bind").command, Command::Bind);

    for (const char* everything : {"all", "", "  "}) {
        Rule rule_all = Rule::parse(true, everything);
        EXPECT_FALSE(rule_all.from || rule_all.to_network || rule_all.to_host || rule_all.ports ||
                     rule_all.command)
            << "'" << everything << "'";
    }
}

// One request as the rules see it.
struct Probe {
    SocketAddress client = ip("127.0.0.1", 40000);
    Command command = Command::Connect;
    Address destination;
    SocketAddress resolved;

    static Probe to_ip(const std::string& text, std::uint16_t port) {
        Probe probe;
        probe.resolved = ip(text, port);
        probe.destination = address_from(probe.resolved);
        return probe;
    }
    static Probe to_name(const std::string& name, const std::string& resolved_to,
                         std::uint16_t port) {
        Probe probe;
        probe.destination.type = AddressType::DomainName;
        probe.destination.domain = name;
        probe.destination.port = port;
        probe.resolved = ip(resolved_to, port);
        return probe;
    }
    RuleInput input() const {
        return {&client, command, &destination, &resolved, destination.port};
    }
};

bool matches(const std::string& rule, const Probe& probe) {
    return Rule::parse(false, rule).matches(probe.input());
}

TEST(RuleMatch, EachTermMustMatch) {
    Probe web = Probe::to_ip("10.1.2.3", 443);
    EXPECT_TRUE(matches("all", web));
    EXPECT_TRUE(matches("to=10.0.0.0/8", web));
    EXPECT_FALSE(matches("to=11.0.0.0/8", web));
    EXPECT_TRUE(matches("port=443", web));
    EXPECT_TRUE(matches("port=80-443", web));
    EXPECT_TRUE(matches("port=443-444", web));
    EXPECT_FALSE(matches("port=80-442", web));
    EXPECT_FALSE(matches("port=444-1000", web));
    EXPECT_TRUE(matches("cmd=connect", web));
    EXPECT_FALSE(matches("cmd=bind", web));
    EXPECT_FALSE(matches("cmd=udp", web));
    EXPECT_TRUE(matches("from=127.0.0.0/8", web));
    EXPECT_FALSE(matches("from=10.0.0.0/8", web));
    EXPECT_TRUE(matches("from=127.0.0.0/8 to=10.0.0.0/8 port=443 cmd=connect", web));
    EXPECT_FALSE(matches("from=127.0.0.0/8 to=10.0.0.0/8 port=444 cmd=connect", web));

    Probe v6_client = web;
    v6_client.client = ip("::1", 40000);
    EXPECT_FALSE(matches("from=127.0.0.0/8", v6_client));
    EXPECT_TRUE(matches("from=::1", v6_client));
    Probe mapped_client = web;
    mapped_client.client = ip("::ffff:127.0.0.1", 40000);  // a v4 client on a dual-stack socket
    EXPECT_TRUE(matches("from=127.0.0.0/8", mapped_client));
}

TEST(RuleMatch, HostRulesMatchTheNameAndItsSubdomainsHoweverWritten) {
    for (const char* name : {"example.test", "Example.TEST", "example.test.", "www.example.test",
                             "www.Example.test.", "a.b.EXAMPLE.test..", "EXAMPLE.TEST"}) {
        EXPECT_TRUE(matches("to=example.test", Probe::to_name(name, "127.0.0.1", 80))) << name;
        EXPECT_TRUE(matches("to=.Example.Test.", Probe::to_name(name, "127.0.0.1", 80))) << name;
    }
    for (const char* name : {"badexample.test", "example.test.evil", "example.tes", "test",
                             "example-test", "wwwexample.test"}) {
        EXPECT_FALSE(matches("to=example.test", Probe::to_name(name, "127.0.0.1", 80))) << name;
    }
    // A host rule is about names: a request by address does not match it.
    EXPECT_FALSE(matches("to=example.test", Probe::to_ip("127.0.0.1", 80)));
}

TEST(RuleMatch, NetworkRulesApplyToTheResolvedAddressOfANameToo) {
    EXPECT_TRUE(matches("to=127.0.0.2", Probe::to_name("blocked.test", "127.0.0.2", 80)));
    EXPECT_TRUE(matches("to=127.0.0.2", Probe::to_name("x", "::ffff:127.0.0.2", 80)));
    EXPECT_TRUE(matches("to=127.0.0.2", Probe::to_ip("::ffff:127.0.0.2", 80)));
    EXPECT_FALSE(matches("to=127.0.0.2", Probe::to_name("blocked.test", "127.0.0.1", 80)));
}

TEST(Rules, FirstMatchWins) {
    Rules rules;
    rules.add(Rule::parse(true, "to=127.0.0.1 port=80"));
    rules.add(Rule::parse(false, "to=127.0.0.0/8"));
    rules.add(Rule::parse(true, "all"));
    std::string matched;
    EXPECT_TRUE(rules.allows(Probe::to_ip("127.0.0.1", 80).input(), &matched));
    EXPECT_EQ(matched, "allow to=127.0.0.1 port=80");
    EXPECT_FALSE(rules.allows(Probe::to_ip("127.0.0.1", 81).input(), &matched));
    EXPECT_EQ(matched, "deny to=127.0.0.0/8");
    EXPECT_TRUE(rules.allows(Probe::to_ip("10.0.0.1", 81).input(), &matched));
    EXPECT_EQ(matched, "allow all");

    Rules reversed;
    reversed.add(Rule::parse(false, "to=127.0.0.0/8"));
    reversed.add(Rule::parse(true, "to=127.0.0.1 port=80"));
    EXPECT_FALSE(reversed.allows(Probe::to_ip("127.0.0.1", 80).input(), &matched));
    EXPECT_EQ(matched, "deny to=127.0.0.0/8");
}

TEST(Rules, DefaultIsAllowUnlessAnAllowRuleExists) {
    Rules none;
    std::string matched;
    EXPECT_TRUE(none.allows(Probe::to_ip("10.0.0.1", 80).input(), &matched));
    EXPECT_EQ(matched, "default");
    EXPECT_FALSE(none.has_allow_rule());

    Rules only_deny;
    only_deny.add(Rule::parse(false, "port=25"));
    EXPECT_FALSE(only_deny.has_allow_rule());
    EXPECT_TRUE(only_deny.allows(Probe::to_ip("10.0.0.1", 80).input(), &matched));
    EXPECT_EQ(matched, "default");
    EXPECT_FALSE(only_deny.allows(Probe::to_ip("10.0.0.1", 25).input()));

    Rules with_allow;
    with_allow.add(Rule::parse(false, "port=25"));
    with_allow.add(Rule::parse(true, "to=10.0.0.0/8"));
    EXPECT_TRUE(with_allow.has_allow_rule());
    EXPECT_TRUE(with_allow.allows(Probe::to_ip("10.0.0.1", 80).input()));
    EXPECT_FALSE(with_allow.allows(Probe::to_ip("10.0.0.1", 25).input()));
    EXPECT_FALSE(with_allow.allows(Probe::to_ip("192.0.2.1", 80).input(), &matched));
    EXPECT_EQ(matched, "default");
}

TEST(NormalizeHost, LowerCaseWithoutTrailingDots) {
    EXPECT_EQ(normalize_host("Example.COM."), "example.com");
    EXPECT_EQ(normalize_host("example.com"), "example.com");
    EXPECT_EQ(normalize_host("WWW.EXAMPLE.COM..."), "www.example.com");
    EXPECT_EQ(normalize_host(""), "");
    EXPECT_EQ(normalize_host("."), "");
    EXPECT_EQ(normalize_host("LocalHost"), "localhost");
}

// ---- loops: the server's own listening addresses -------------------------------

// A destination that is one of the server's listeners, in any spelling, is
// the server itself; a wildcard listener is every local address with its port.
TEST(OwnListener, EverySpellingOfAListenerIsTheServerItself) {
    Config config;
    config.listening = {ip("127.0.0.1", 1080), ip("::1", 1081)};
    EXPECT_TRUE(is_own_listener(config, ip("127.0.0.1", 1080)));
    EXPECT_TRUE(is_own_listener(config, ip("::ffff:127.0.0.1", 1080)));
    EXPECT_TRUE(is_own_listener(config, ip("::1", 1081)));
    EXPECT_FALSE(is_own_listener(config, ip("127.0.0.1", 1081)));  // other port
    EXPECT_FALSE(is_own_listener(config, ip("127.0.0.2", 1080)));  // other host
    EXPECT_FALSE(is_own_listener(config, ip("::1", 1080)));
}

TEST(OwnListener, AWildcardListenerIsEveryLocalAddressWithItsPort) {
    for (const char* any : {"0.0.0.0", "::"}) {
        Config config;
        config.listening = {ip(any, 1080)};
        for (const char* local : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.9"}) {
            EXPECT_TRUE(is_own_listener(config, ip(local, 1080))) << any << " / " << local;
        }
        EXPECT_FALSE(is_own_listener(config, ip("127.0.0.1", 1081))) << any;
        // 192.0.2.0/24 is documentation-only: no interface has it.
        EXPECT_FALSE(is_own_listener(config, ip("192.0.2.1", 1080))) << any;
    }
}

// Link-local destinations (cloud metadata at 169.254.169.254) need an --allow
// whose to= names them; the default and an "allow all" do not reach them.
TEST(Rules, LinkLocalDestinationsAreDeniedUnlessAllowedByName) {
    SocketAddress client = ip("127.0.0.1", 5555);
    Address dst;
    auto allowed = [&](const Rules& rules, const char* to) {
        SocketAddress address = ip(to, 80);
        return rules.allows({&client, Command::Connect, &dst, &address, 80});
    };
    Rules none, all, named;
    all.add(Rule::parse(true, "all"));
    named.add(Rule::parse(true, "to=169.254.0.0/16"));
    named.add(Rule::parse(true, "to=fe80::/10"));
    for (const char* meta : {"169.254.169.254", "::ffff:169.254.169.254", "fe80::1"}) {
        EXPECT_FALSE(allowed(none, meta)) << meta;
        EXPECT_FALSE(allowed(all, meta)) << meta;
        EXPECT_TRUE(allowed(named, meta)) << meta;
    }
    EXPECT_TRUE(allowed(none, "127.0.0.1"));
    EXPECT_TRUE(allowed(all, "10.1.2.3"));
}

}  // namespace
}  // namespace socks
