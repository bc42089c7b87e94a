#include "handshake.hpp"

#include <algorithm>
#include <cstdio>

#include "log.hpp"

namespace socks {

std::string method_name(std::uint8_t method) {
    switch (method) {
        case 0x00:
            return "NO AUTHENTICATION REQUIRED";
        case 0x01:
            return "GSSAPI";
        case 0x02:
            return "USERNAME/PASSWORD";
        case 0xFF:
            return "NO ACCEPTABLE METHODS";
    }
    char text[32];
    std::snprintf(text, sizeof text, "method %02x", method);
    return text;
}

bool Greeting::offers(Method method) const {
    return std::find(methods.begin(), methods.end(), static_cast<std::uint8_t>(method)) !=
           methods.end();
}

// +----+----------+----------+
// |VER | NMETHODS | METHODS  |
// +----+----------+----------+
// | 1  |    1     | 1 to 255 |
// +----+----------+----------+
Parsed<Greeting> parse_greeting(ByteView bytes) {
    // BEGIN SOLUTION ch02: parse VER, NMETHODS and METHODS (RFC 1928 section 3): NeedMore until complete, ParseError for VER != 5 or NMETHODS = 0
    if (bytes.size() < 2) return NeedMore{2 - bytes.size()};
    // Decide on VER as early as we can: "GET / HTTP/1.1" is rejected at byte 0.
    if (bytes[0] != kSocks5) {
        char reason[64];
        std::snprintf(reason, sizeof reason, "VER is %02x, not 05", bytes[0]);
        return ParseError{reason, std::nullopt};
    }
    std::size_t nmethods = bytes[1];
    if (nmethods == 0)
        return ParseError{"NMETHODS is 0: the client offers no method", std::nullopt};
    if (bytes.size() < 2 + nmethods) return NeedMore{2 + nmethods - bytes.size()};
    return Greeting{{bytes.begin() + 2, bytes.begin() + 2 + static_cast<std::ptrdiff_t>(nmethods)}};
    // END SOLUTION
}

Method choose_method(const Greeting& greeting, bool require_password) {
    // BEGIN SOLUTION ch02: choose only from the client's offer: USERNAME/PASSWORD when a password is required, else NO AUTHENTICATION; NO ACCEPTABLE METHODS otherwise
    // Never NO AUTHENTICATION when a password is required: curl offers 00 even
    // when it has credentials, and picking 00 then would let anyone in.
    // [docs:choose-method]
    Method wanted = require_password ? Method::UsernamePassword : Method::NoAuthentication;
    return greeting.offers(wanted) ? wanted : Method::NoAcceptable;
    // [/docs:choose-method]
    // END SOLUTION
}

// +----+--------+
// |VER | METHOD |
// +----+--------+
// | 1  |   1    |
// +----+--------+
Bytes serialize_method_selection(Method method) {
    // BEGIN SOLUTION ch02: the two bytes VER METHOD
    return {kSocks5, static_cast<std::uint8_t>(method)};
    // END SOLUTION
}

static std::string list_methods(const Greeting& greeting) {
    std::string text;
    for (std::uint8_t m : greeting.methods) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%s%02x", text.empty() ? "" : " ", m);
        text += hex;
    }
    return text;
}

std::optional<Method> negotiate_method(const Fd& client, const SocketAddress& peer,
                                       bool require_password) {
    Bytes bytes;
    auto greeting = read_message<Greeting>(client, parse_greeting, bytes, "greeting");
    if (auto* error = std::get_if<ParseError>(&greeting)) {
        log_info(peer.to_string() + ": bad greeting: " + error->reason + "; closing");
        return std::nullopt;
    }
    Method method = choose_method(std::get<Greeting>(greeting), require_password);
    send_message(client, "method-selection", serialize_method_selection(method));
    if (method == Method::NoAcceptable) {
        log_info(peer.to_string() + ": no acceptable method: client offered [" +
                 list_methods(std::get<Greeting>(greeting)) + "], server needs " +
                 method_name(static_cast<std::uint8_t>(
                     require_password ? Method::UsernamePassword : Method::NoAuthentication)));
        return std::nullopt;
    }
    log_debug(peer.to_string() + ": method " + method_name(static_cast<std::uint8_t>(method)));
    return method;
}

}  // namespace socks
