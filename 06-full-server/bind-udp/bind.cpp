#include "bind.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.hpp"
#include "targets.hpp"

namespace socks {

namespace {
bool same_host(const SocketAddress& a, const SocketAddress& b) {
    // Compare as rules do: an IPv4-mapped IPv6 address is its IPv4 address.
    auto network = Network::parse(a.host());
    return network && network->contains(b);
}
}  // namespace

BindOutcome serve_bind(const Config& config, const Fd& client, const SocketAddress& peer,
                       const Address& expected, const ReplySender& reply) {
    BindOutcome outcome;
    auto fail = [&](ReplyCode code, std::string detail) {
        reply(code, {});
        outcome.code = code;
        outcome.detail = std::move(detail);
        return std::move(outcome);
    };

    std::vector<SocketAddress> allowed_peers;  // empty: any host
    if (!is_unspecified(expected)) {
        Resolved resolved = resolve_with_map(config, expected);
        if (resolved.addresses.empty()) return fail(resolved.failure, resolved.detail);
        allowed_peers = resolved.addresses;
        for (const SocketAddress& address : allowed_peers) {
            if (is_own_listener(config, address)) {
                return fail(ReplyCode::NotAllowedByRuleset,
                            address.to_string() + " is this server's own listening address");
            }
        }
    }
    std::string rule;
    RuleInput request{&peer, Command::Bind, &expected,
                      allowed_peers.empty() ? nullptr : &allowed_peers.front(), expected.port};
    if (!config.rules.allows(request, &rule)) {
        return fail(ReplyCode::NotAllowedByRuleset, "denied by rule '" + rule + "'");
    }

    // Listen where the client reached us: that address is one it can route to.
    SocketAddress here = local_address(client);
    Fd listener = listen_tcp({here.host(), 0}, 1);
    SocketAddress listening = local_address(listener);
    reply(ReplyCode::Succeeded, address_from(listening));
    log_info(peer.to_string() + " BIND " + expected.to_string() + ": listening on " +
             listening.to_string());

    auto deadline = std::chrono::steady_clock::now() + config.bind_timeout;
    bool out_of_descriptors = false;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return fail(ReplyCode::HostUnreachable, "nobody connected within the bind timeout");
        }
        // While accept() fails for want of descriptors, the peer stays in the
        // backlog and the listener stays readable: watch only the client, for
        // 100 ms, before trying again (as chapter 01's accept loop does).
        pollfd fds[2] = {{listener.get(), POLLIN, 0}, {client.get(), POLLIN, 0}};
        int ready = out_of_descriptors
                        ? ::poll(&fds[1], 1, static_cast<int>(std::min<long>(left.count(), 100)))
                        : ::poll(fds, 2, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) throw_errno("poll");
        if (out_of_descriptors && ready == 0) fds[0].revents = POLLIN;  // time to try again
        if (ready < 0 || (ready == 0 && !out_of_descriptors)) continue;
        if (fds[1].revents != 0) {
            // The client may send nothing between the two replies: anything
            // (or its EOF) ends the BIND.
            outcome.detail = "client closed or spoke before the second reply";
            return outcome;
        }
        SocketAddress incoming;
        incoming.size = sizeof incoming.storage;
        Fd connection(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&incoming.storage),
                                &incoming.size, SOCK_CLOEXEC));
        if (!connection) {
            int error = errno;
            bool exhausted =
                error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
            if (exhausted && !out_of_descriptors) {  // one line per episode
                log_warn(peer.to_string() + " BIND: accept: " + std::strerror(error) +
                         "; retrying every 100 ms");
            }
            out_of_descriptors = exhausted;
            continue;
        }
        out_of_descriptors = false;
        // BEGIN SOLUTION ch06: accept only a peer from the expected host (any host when DST was 0.0.0.0) that the rules allow, else log "BIND: refused", close it and keep waiting; then the second reply with the peer's address
        bool expected_host =
            allowed_peers.empty() ||
            std::any_of(allowed_peers.begin(), allowed_peers.end(),
                        [&](const SocketAddress& a) { return same_host(a, incoming); });
        Address incoming_address = address_from(incoming);
        RuleInput input{&peer, Command::Bind, &incoming_address, &incoming, incoming.port()};
        if (!expected_host || !config.rules.allows(input, &rule)) {
            log_info(peer.to_string() + " BIND: refused " + incoming.to_string() +
                     (expected_host ? " by rule '" + rule + "'" : ": not " + expected.host()));
            continue;  // `connection` closes; keep waiting for the right peer
        }
        reply(ReplyCode::Succeeded, address_from(incoming));
        outcome.peer = std::move(connection);
        outcome.code = ReplyCode::Succeeded;
        outcome.detail = "peer " + incoming.to_string();
        return outcome;
        // END SOLUTION
    }
}

}  // namespace socks
