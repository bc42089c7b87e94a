#include "udp_relay.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
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

}  // namespace

UdpStats serve_udp_associate(const Config& config, const Fd& client, const SocketAddress& peer,
                             const Address& client_hint, const ReplySender& reply) {
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

    Fd out4, out6;                          // the targets' side, one per family
    std::set<std::string> contacted;        // replies are accepted only from these
    std::map<std::string, Resolved> names;  // resolved once per association
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
                    if (MessageObserver* observer = message_observer()) {
                        observer->on_message(true, "udp-datagram", datagram);
                    }
                    const Address& to = header.destination;
                    std::string name_key = to.to_string();
                    auto cached = names.find(name_key);
                    if (cached == names.end()) {
                        cached = names.emplace(name_key, resolve_with_map(config, to)).first;
                    }
                    const SocketAddress* target = nullptr;
                    std::string rule;
                    for (const SocketAddress& candidate : cached->second.addresses) {
                        RuleInput input{&peer, Command::UdpAssociate, &to, &candidate, to.port};
                        if (config.rules.allows(input, &rule)) {
                            target = &candidate;
                            break;
                        }
                    }
                    if (target == nullptr) {
                        drop(cached->second.addresses.empty()
                                 ? cached->second.detail
                                 : "to " + to.to_string() + " denied by rule '" + rule + "'");
                    } else {
                        Fd& out = target->family() == AF_INET ? out4 : out6;
                        if (!out) {
                            const SocketAddress* local = outgoing_for(config, target->family());
                            out = udp_socket(local ? *local : any_address(target->family()));
                        }
                        ByteView data = datagram.subspan(header.size);
                        if (::sendto(out.get(), data.data(), data.size(), 0, target->get(),
                                     target->size) >= 0) {
                            contacted.insert(key_of(*target));
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
            if (!client_udp || !contacted.contains(key_of(from))) {
                drop("from " + from.to_string() + ", which the client never sent to");
                continue;
            }
            Bytes wrapped = serialize_udp_datagram(
                address_from(from), ByteView(buffer.data(), static_cast<std::size_t>(n)));
            if (MessageObserver* observer = message_observer()) {
                observer->on_message(false, "udp-datagram", wrapped);
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
