#include "auth.hpp"

#include <cstdio>
#include <stdexcept>

#include "handshake.hpp"
#include "log.hpp"

namespace socks {

// +----+------+----------+------+----------+
// |VER | ULEN |  UNAME   | PLEN |  PASSWD  |
// +----+------+----------+------+----------+
// | 1  |  1   | 1 to 255 |  1   | 1 to 255 |
// +----+------+----------+------+----------+
// The RFC says 1 to 255, but real clients send 0 (curl's `user:@` has PLEN 0),
// so the parser accepts empty fields and lets the account check decide.
Parsed<UserPass> parse_user_pass(ByteView bytes) {
    // BEGIN SOLUTION ch03: parse VER (01), ULEN, UNAME, PLEN and PASSWD (RFC 1929): NeedMore until complete, ParseError (reply 01) for a wrong VER
    if (bytes.size() < 2) return NeedMore{2 - bytes.size()};
    if (bytes[0] != kUserPassVersion) {
        char reason[64];
        std::snprintf(reason, sizeof reason, "auth VER is %02x, not 01", bytes[0]);
        return ParseError{reason, 0x01};  // answered with status 01 (failure)
    }
    std::size_t ulen = bytes[1];
    std::size_t plen_at = 2 + ulen;
    if (bytes.size() < plen_at + 1) return NeedMore{plen_at + 1 - bytes.size()};
    std::size_t plen = bytes[plen_at];
    std::size_t end = plen_at + 1 + plen;
    if (bytes.size() < end) return NeedMore{end - bytes.size()};
    auto text = [&](std::size_t from, std::size_t length) {
        return std::string(reinterpret_cast<const char*>(bytes.data() + from), length);
    };
    return UserPass{text(2, ulen), text(plen_at + 1, plen)};
    // END SOLUTION
}

// +----+--------+
// |VER | STATUS |
// +----+--------+
// | 1  |   1    |
// +----+--------+
Bytes serialize_auth_status(bool success) {
    // BEGIN SOLUTION ch03: the two bytes VER (01) STATUS (00 success, 01 failure)
    return {kUserPassVersion, static_cast<std::uint8_t>(success ? 0x00 : 0x01)};
    // END SOLUTION
}

void Users::add_from_option(const std::string& name_colon_password) {
    auto colon = name_colon_password.find(':');
    if (colon == std::string::npos) throw std::invalid_argument("expected NAME:PASSWORD");
    if (colon == 0) throw std::invalid_argument("the user name may not be empty");
    if (colon > 255 || name_colon_password.size() - colon - 1 > 255) {
        throw std::invalid_argument("RFC 1929 allows at most 255 bytes for name and password");
    }
    add(name_colon_password.substr(0, colon), name_colon_password.substr(colon + 1));
}

void Users::add(std::string name, std::string password) {
    users_.push_back({std::move(name), std::move(password)});
}

namespace {
// Equal strings give 0. The loop always runs over the longer length and never
// exits early, so the time taken does not depend on where the first difference is.
unsigned difference(const std::string& a, const std::string& b) {
    // [docs:constant-time]
    unsigned diff = static_cast<unsigned>(a.size() ^ b.size());
    std::size_t n = std::max(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        unsigned x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
        unsigned y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
        diff |= x ^ y;
    }
    // [/docs:constant-time]
    return diff;
}
}  // namespace

bool Users::check(const UserPass& credentials) const {
    // BEGIN SOLUTION ch03: compare name and password against every account with difference(), in time that does not depend on where they differ: no ==, &&, ||, break or early return (tests/ch03/constant_time_test.cpp checks this)
    bool accepted = false;
    for (const UserPass& user : users_) {  // no early return: every account is compared
        unsigned diff = difference(user.username, credentials.username) |
                        difference(user.password, credentials.password);
        accepted |= diff == 0;
    }
    return accepted;
    // END SOLUTION
}

void add_user_option(CommandLine& cli, Users& users) {
    cli.add_option("--user", "NAME:PASSWORD",
                   "require RFC 1929 username/password authentication and accept this account "
                   "(repeatable; without it, no authentication)",
                   [&users](const std::string& value) { users.add_from_option(value); });
}

std::optional<std::string> handshake(const Fd& client, const SocketAddress& peer,
                                     const Users& users) {
    auto method = negotiate_method(client, peer, /*require_password=*/!users.empty());
    if (!method) return std::nullopt;
    if (*method == Method::NoAuthentication) return std::string();

    Bytes bytes;
    auto received = read_message<UserPass>(client, parse_user_pass, bytes, "auth");
    if (auto* error = std::get_if<ParseError>(&received)) {
        if (error->reply) send_message(client, "auth-status", serialize_auth_status(false));
        log_info(peer.to_string() + ": bad authentication request: " + error->reason + "; closing");
        return std::nullopt;
    }
    const UserPass& credentials = std::get<UserPass>(received);
    bool ok = users.check(credentials);
    send_message(client, "auth-status", serialize_auth_status(ok));
    if (!ok) {
        // The name helps the operator; the password is never written anywhere.
        log_info(peer.to_string() + ": authentication failed for user '" +
                 printable(credentials.username) + "'; closing");
        return std::nullopt;
    }
    log_debug(peer.to_string() + ": authenticated as '" + printable(credentials.username) + "'");
    return credentials.username;
}

}  // namespace socks
