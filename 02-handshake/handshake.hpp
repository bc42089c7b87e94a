// RFC 1928 §3: the client offers authentication methods, the server picks one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "message.hpp"
#include "net.hpp"

namespace socks {

inline constexpr std::uint8_t kSocks5 = 0x05;

// The METHOD values of RFC 1928 §3.
enum class Method : std::uint8_t {
    NoAuthentication = 0x00,
    Gssapi = 0x01,
    UsernamePassword = 0x02,
    NoAcceptable = 0xFF,
};
std::string method_name(std::uint8_t method);  // "NO AUTHENTICATION REQUIRED", ...

struct Greeting {
    std::vector<std::uint8_t> methods;  // as offered, in the client's order
    bool offers(Method method) const;
};

Parsed<Greeting> parse_greeting(ByteView bytes);

// The server chooses only from what the client offered: USERNAME/PASSWORD when
// the server requires it, NO AUTHENTICATION otherwise; NO ACCEPTABLE METHODS
// when the needed one is not on offer.
Method choose_method(const Greeting& greeting, bool require_password);

Bytes serialize_method_selection(Method method);

// Reads the greeting from `client`, answers it, and returns the chosen method,
// or nullopt when the connection must close (bad greeting, or 0xFF sent).
std::optional<Method> negotiate_method(const Fd& client, const SocketAddress& peer,
                                       bool require_password);

}  // namespace socks
