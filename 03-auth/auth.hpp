// RFC 1929: the USERNAME/PASSWORD sub-negotiation, and the server's user list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fields.hpp"
#include "message.hpp"
#include "net.hpp"

namespace socks {

inline constexpr std::uint8_t kUserPassVersion = 0x01;  // RFC 1929's own VER, not 0x05

struct UserPass {
    std::string username;
    std::string password;
};

Parsed<UserPass> parse_user_pass(ByteView bytes);
Bytes serialize_auth_status(bool success);  // 01 00 on success, 01 01 on failure

// The accounts from --user NAME:PASSWORD.
class Users {
  public:
    // "alice:secret". The name may not be empty; the password may ("alice:"
    // lets curl's `socks5h://alice:@host` in, which sends PLEN = 0).
    void add_from_option(const std::string& name_colon_password);
    void add(std::string name, std::string password);
    bool empty() const { return users_.empty(); }
    std::size_t size() const { return users_.size(); }
    // Compares against every account, in time that depends only on the lengths,
    // so response times do not reveal how much of a password was right.
    bool check(const UserPass& credentials) const;

  private:
    std::vector<UserPass> users_;
};

// `--user NAME:PASSWORD` (repeatable); with none, no authentication.
void add_user_option(CommandLine& cli, Users& users);

// The server side of a whole SOCKS5 handshake: method negotiation, then
// RFC 1929 when `users` is not empty. Returns the authenticated user name
// ("" without authentication), or nullopt when the connection must close.
std::optional<std::string> handshake(const Fd& client, const SocketAddress& peer,
                                     const Users& users);

// --trace (chapter 02's fields.hpp): "auth" and "auth-status", the rest by
// describe_handshake. PASSWD is never shown, only its length.
std::vector<Field> describe_auth(std::string_view name, ByteView bytes);

}  // namespace socks
