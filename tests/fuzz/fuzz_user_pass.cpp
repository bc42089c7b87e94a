// libFuzzer target: RFC 1929 username/password request (chapter 03's
// parse_user_pass) and the account check.
#include <cstdint>

#include "auth.hpp"
#include "fuzz_support.hpp"
#include "trace.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    std::size_t consumed = 0;
    auto result = fuzz::feed<UserPass>(parse_user_pass, input, consumed);
    if (auto* error = std::get_if<ParseError>(&result)) {
        // Only a wrong VER is an error; it is answered with status 01.
        require(error->reply == std::optional<std::uint8_t>(0x01), "auth error without status 01");
        fuzz::check_error_is_final<UserPass>(parse_user_pass, input, consumed);
        return 0;
    }
    auto* credentials = std::get_if<UserPass>(&result);
    if (credentials == nullptr) return 0;

    ByteView message = input.first(consumed);
    fuzz::check_prefixes<UserPass>(parse_user_pass, message);
    require(message[0] == 0x01, "accepted an RFC 1929 VER other than 01");
    std::size_t ulen = message[1];
    require(credentials->username.size() == ulen, "UNAME length is not ULEN");
    require(consumed == 3 + ulen + credentials->password.size(), "size is not 3 + ULEN + PLEN");
    require(credentials->password.size() == message[2 + ulen], "PASSWD length is not PLEN");

    // The check accepts exactly the configured account (empty fields included).
    static const Users users = [] {
        Users u;
        u.add("alice", "secret");
        u.add("bob", "");
        return u;
    }();
    bool expected = (credentials->username == "alice" && credentials->password == "secret") ||
                    (credentials->username == "bob" && credentials->password.empty());
    require(users.check(*credentials) == expected, "Users::check disagrees with ==");

    // --trace shows PASSWD only as its length, never its bytes.
    for (const Field& field : describe(MessageKind::UserPass, message)) {
        if (field.name == "PASSWD") require(field.size == 0, "the trace shows PASSWD bytes");
    }
    std::string trace = format_trace("127.0.0.1:1", true, MessageKind::UserPass, message);
    require(!trace.empty(), "empty trace");
    return 0;
}
