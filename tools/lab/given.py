"""Tests of a chapter that may pass on that chapter's starter: they test code the starter
gives (lab-only: tools/check-lab reads it). Every other test of the chapter must fail on
the stubs, or it would give credit for nothing.
"""

GIVEN = {
    "ch01": (),
    "ch02": (),
    "ch03": (),
    "ch04": (),
    "ch05": (),
    "ch06": (),
}

# Lines the leak check (tools/check-lab) does not count as leaks although a stubbed region
# has them too: idioms the given code uses for its own, different job.
IDIOMS = {
    # dump_until_closed (ch02's hex dump, given) reads until EOF like echo_session does,
    # but prints instead of echoing; the loop header alone gives nothing away.
    "while (std::size_t n = read_some(client, buffer)) {",
    # Server::run_session's catch-all, which every handler relies on.
    "} catch (const std::exception& error) {",
    'log_warn(peer.to_string() + ": " + error.what());',
}
