"""The mutants tools/check-lab applies to the solution, one at a time (lab-only: never in a starter).

Each is a mistake students make (or well-known servers made, GUIDE.md section 8), and each
must be REJECTED by the tests of its chapter. `tests` narrows the ctest run to the tests
(a -R regex) that should catch it, only to save time: they are a subset of the chapter's.

(name, file, original text, broken text, chapter label, ctest -R regex or None)
"""

MUTANTS = [
    # chapter 02
    ("one recv() is taken for one whole message (split messages)",
     "02-handshake/message.hpp",
     "if (!read_exact(socket, std::span(bytes).subspan(have), &received)) {",
     "if ((received = read_some(socket, std::span(bytes).subspan(have))) == 0) {", "ch02",
     None),
    ("reads past the end of the message (coalesced messages: a request behind the greeting)",
     "02-handshake/message.hpp",
     "        bytes.resize(have + std::get<NeedMore>(parsed).bytes);\n"
     "        std::size_t received = 0;\n"
     "        if (!read_exact(socket, std::span(bytes).subspan(have), &received)) {",
     "        bytes.resize(have + 4096);\n"
     "        std::size_t received = read_some(socket, std::span(bytes).subspan(have));\n"
     "        bytes.resize(have + received);\n"
     "        if (received == 0) {", "ch02", None),
    ("NMETHODS = 0 accepted",
     "02-handshake/handshake.cpp",
     '    if (nmethods == 0)\n        return ParseError{"NMETHODS is 0: the client offers no method", std::nullopt};\n',
     "", "ch02", None),
    ("the method is not chosen from the client's offer",
     "02-handshake/handshake.cpp",
     "return greeting.offers(wanted) ? wanted : Method::NoAcceptable;",
     "(void)greeting;  // mutant\n    return wanted;", "ch02", None),
    # chapter 03
    ("NO AUTHENTICATION picked when the client offers it, even though a password is required",
     "02-handshake/handshake.cpp",
     "Method wanted = require_password ? Method::UsernamePassword : Method::NoAuthentication;",
     "Method wanted = require_password && !greeting.offers(Method::NoAuthentication)\n"
     "                        ? Method::UsernamePassword\n"
     "                        : Method::NoAuthentication;",
     "ch03", None),
    ("the RFC 1929 reply starts with 05 instead of 01",
     "03-auth/auth.cpp",
     "return {kUserPassVersion, static_cast<std::uint8_t>(success ? 0x00 : 0x01)};",
     "return {0x05, static_cast<std::uint8_t>(success ? 0x00 : 0x01)};", "ch03", None),
    ("the connection goes on after a failed authentication",
     "03-auth/auth.cpp",
     "printable(credentials.username) + \"'; closing\");\n        return std::nullopt;\n    }",
     "printable(credentials.username) + \"'; closing\");\n    }", "ch03", None),
    ("Users::check returns at the first matching account (not constant time)",
     "03-auth/auth.cpp",
     "        accepted |= diff == 0;",
     "        if (diff == 0) return true;", "ch03", None),
    ("Users::check compares with == (stops at the first differing byte)",
     "03-auth/auth.cpp",
     "        unsigned diff = difference(user.username, credentials.username) |\n"
     "                        difference(user.password, credentials.password);\n"
     "        accepted |= diff == 0;",
     "        accepted |= (difference(user.username, credentials.username) == 0) &\n"
     "                    (user.password == credentials.password);", "ch03", None),
    # chapter 04
    ("connection refused answered as host unreachable (the errno -> REP mapping)",
     "04-request/dial.cpp",
     "case ECONNREFUSED:\n            return ReplyCode::ConnectionRefused;",
     "case ECONNREFUSED:\n            return ReplyCode::HostUnreachable;", "ch04", None),
    ("BND is the destination, not the real local address of the outgoing connection",
     "04-request/connect.cpp",
     "send_reply(client, ReplyCode::Succeeded, address_from(bound));",
     "send_reply(client, ReplyCode::Succeeded, request->destination);", "ch04", None),
    # chapter 05
    ("no half-close: the relay stops at the first EOF",
     "05-relay/relay.cpp",
     "::shutdown(fds[d->to], SHUT_WR);\n                d->shut = true;",
     "failed = true;  // mutant\n                break;", "ch05", None),
    # chapter 06
    ("SOCKS4 answered with VN 04 (the reply's VN is 00)",
     "06-full-server/socks4/socks4.cpp",
     "Bytes out{0x00, static_cast<std::uint8_t>(code),",
     "Bytes out{0x04, static_cast<std::uint8_t>(code),", "ch06", "Socks4|Ncat|Curl"),
    ("BIND accepts a peer from any host, not only the expected one",
     "06-full-server/bind-udp/bind.cpp",
     "            allowed_peers.empty() ||\n",
     "            true ||\n", "ch06", "Bind"),
    ("a to=HOST rule also matches other names that end in HOST (badexample.com for example.com)",
     "06-full-server/policy/rules.cpp",
     'bool below = host.size() > to_host->size() && host.ends_with("." + *to_host);',
     "bool below = host.ends_with(*to_host);", "ch06", "Rule"),
    ("a to=HOST rule compares the name as sent (EXAMPLE.com. bypasses it)",
     "06-full-server/policy/rules.cpp",
     "std::string host = normalize_host(input.destination->domain);",
     "std::string host = input.destination->domain;", "ch06", "Rule"),
    ("UDP datagrams accepted from any host, not only the client's",
     "06-full-server/bind-udp/udp_relay.cpp",
     "if (!same_host(peer, from)) {",
     "if (!same_host(peer, from) && from.size == 0) {", "ch06", "Udp"),
    ("UDP datagrams with FRAG != 0 relayed instead of dropped",
     "06-full-server/bind-udp/udp_relay.cpp",
     "header.fragment != 0) {",
     "header.fragment == 0xFF) {", "ch06", "Udp"),
    ("one client address may hold every session slot (--max-per-source ignored)",
     "06-full-server/operations/per_source.cpp",
     "if (limits_.sessions != 0 && state.sessions >= limits_.sessions) return Slot();",
     "if (limits_.sessions != 0 && state.sessions >= limits_.sessions * 1000) return Slot();",
     "ch06",
     "PerSource"),
    ("a session past --max-per-source lingers, holding its thread and slot for seconds",
     "06-full-server/session.cpp",
     "        log_refusal(peer, record, std::chrono::steady_clock::now() - started);\n"
     "        return;",
     "        log_refusal(peer, record, std::chrono::steady_clock::now() - started);\n"
     "        hang_up(client);\n"
     "        return;", "ch06", "PerSourceProgram"),
    ("wrong passwords are never throttled (--max-login-failures ignored)",
     "06-full-server/operations/per_source.cpp",
     "    return failures.count >= limits_.login_failures;",
     "    return failures.count >= limits_.login_failures * 1000;", "ch06", "PerSource"),
    ("the earlier chapters' per-session lines are written beside the access line (one client "
     "writes the log as fast as it refuses)",
     "06-full-server/session.cpp",
     'held(std::in_place, peer.to_string() + ": ");',
     'held(std::in_place, "(nothing) ");', "ch06", "PerSourceProgram"),
    # chapter 06, behind a load balancer (label ch06-balancer: not part of check06)
    ("the client a trusted balancer's PROXY header names is ignored (rules, limits and the log "
     "see the balancer)",
     "06-full-server/session.cpp",
     "const SocketAddress& peer = named ? *named : connected;",
     "const SocketAddress& peer = connected;", "ch06-balancer", "BehindHaproxy"),
    ("a PROXY header is believed from whoever sends one (anyone can choose their address)",
     "06-full-server/session.cpp",
     "if (trusted_balancer(config_, connected)) {",
     "if (trusted_balancer(config_, connected) || proxy_header_sent(client)) {",
     "ch06-balancer", "BehindHaproxy"),
    ("health checks are logged like sessions (--health-from ignored)",
     "06-full-server/session.cpp",
     "    if (!(record.silent && in_any(config_.health_from, peer))) {",
     "    if (true) {", "ch06-balancer", "HealthChecks"),
    ("--log-format json copies backslashes (printable()'s \\xNN escapes become invalid JSON)",
     "06-full-server/operations/json.cpp",
     "        if (c == '\"' || c == '\\\\') {",
     "        if (c == '\"') {", "ch06-balancer", "JsonLog"),
]

# What to build for a label that is not a chapter's checkNN (which builds checkNN_programs).
BUILD_TARGETS = {"ch06-balancer": ["ch06_balancer_tests", "socks5-server"]}
