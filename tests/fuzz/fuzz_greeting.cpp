// libFuzzer target: RFC 1928 §3 greeting (chapter 02's parse_greeting) and the
// method choice made from it.
#include <cstdint>

#include "fuzz_support.hpp"
#include "handshake.hpp"
#include "trace.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    std::size_t consumed = 0;
    auto result = fuzz::feed<Greeting>(parse_greeting, input, consumed);
    if (auto* error = std::get_if<ParseError>(&result)) {
        require(!error->reason.empty(), "an error without a reason");
        fuzz::check_error_is_final<Greeting>(parse_greeting, input, consumed);
        return 0;
    }
    auto* greeting = std::get_if<Greeting>(&result);
    if (greeting == nullptr) return 0;  // the stream ended mid-greeting

    ByteView message = input.first(consumed);
    fuzz::check_prefixes<Greeting>(parse_greeting, message);
    require(message[0] == 0x05, "accepted a VER other than 05");
    require(!greeting->methods.empty(), "accepted NMETHODS = 0");
    require(consumed == 2 + greeting->methods.size(), "greeting size is not 2 + NMETHODS");
    for (std::size_t i = 0; i < greeting->methods.size(); ++i) {
        require(greeting->methods[i] == message[2 + i], "METHODS differ from the bytes");
    }

    // The choice comes from the offer, and never NO AUTHENTICATION when a
    // password is required (curl offers 00 even with credentials).
    Method with_password = choose_method(*greeting, true);
    require(with_password == Method::UsernamePassword || with_password == Method::NoAcceptable,
            "with --user, chose something other than 02 or FF");
    require(
        (with_password == Method::UsernamePassword) == greeting->offers(Method::UsernamePassword),
        "with --user, 02 chosen iff offered");
    Method without = choose_method(*greeting, false);
    require(without == Method::NoAuthentication || without == Method::NoAcceptable,
            "without --user, chose something other than 00 or FF");
    require((without == Method::NoAuthentication) == greeting->offers(Method::NoAuthentication),
            "without --user, 00 chosen iff offered");
    require(serialize_method_selection(with_password).size() == 2, "method selection not 2 bytes");

    std::string trace = format_trace("127.0.0.1:1", true, MessageKind::Greeting, message);
    require(!trace.empty(), "empty trace");
    return 0;
}
