#include "auth.hpp"

namespace socks {

std::vector<Field> describe_auth(std::string_view name, ByteView b) {
    std::vector<Field> f;
    if (name == "auth") {
        std::size_t ulen = b[1], plen = b[2 + ulen];
        f.push_back({0, 1, "VER", std::to_string(b[0]) + " (RFC 1929)"});
        f.push_back({1, 1, "ULEN", std::to_string(ulen)});
        f.push_back({2, ulen, "UNAME", quoted(b, 2, ulen)});
        f.push_back({2 + ulen, 1, "PLEN", std::to_string(plen)});
        // The password is never printed: size 0 hides its bytes too.
        f.push_back({3 + ulen, 0, "PASSWD", "(" + std::to_string(plen) + " bytes, hidden)"});
    } else if (name == "auth-status") {
        f.push_back({0, 1, "VER", std::to_string(b[0]) + " (RFC 1929)"});
        f.push_back({1, 1, "STATUS", b[1] == 0 ? "success" : "failure"});
    } else {
        return describe_handshake(name, b);
    }
    return f;
}

}  // namespace socks
