"""Lab-only data for tools/check-lab."""

# Lines the leak check (tools/check-lab) does not count as leaks although a stubbed region
# has them too: idioms the given code uses for its own, different job.
IDIOMS = {
    # dump_until_closed (ch02's hex dump, given) reads until EOF like echo_session does,
    # but prints instead of echoing; the loop header alone gives nothing away.
    "while (std::size_t n = read_some(client, buffer)) {",
    # Server::run_session's catch-all, which every handler relies on.
    "} catch (const std::exception& error) {",
    'log_warn(peer.to_string() + ": " + error.what());',
    # Passing a nested parser's error on (parse_request, parse_udp_header).
    "if (auto* error = std::get_if<ParseError>(&address)) return *error;",
    # Walking a name's resolved addresses: dial_allowed (given) and the UDP relay's
    # per-datagram check both do it, each for its own decision.
    "for (const SocketAddress& candidate : resolved.addresses) {",
}
