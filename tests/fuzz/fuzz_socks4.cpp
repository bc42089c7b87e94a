// libFuzzer target: SOCKS4 and SOCKS4a requests (chapter 06's
// parse_socks4_request): NUL-terminated fields with no length.
#include <algorithm>
#include <cstdint>

#include "fuzz_support.hpp"
#include "socks4.hpp"
#include "trace.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    std::size_t consumed = 0;
    auto result = fuzz::feed<Socks4Request>(parse_socks4_request, input, consumed);
    if (auto* error = std::get_if<ParseError>(&result)) {
        require(!error->reply || *error->reply == 0x5B, "SOCKS4 error reply is not 5B");
        fuzz::check_error_is_final<Socks4Request>(parse_socks4_request, input, consumed);
        return 0;
    }
    auto* request = std::get_if<Socks4Request>(&result);
    if (request == nullptr) return 0;

    ByteView message = input.first(consumed);
    fuzz::check_prefixes<Socks4Request>(parse_socks4_request, message);
    require(message[0] == 0x04, "accepted VN other than 04");
    require(message.back() == 0x00, "message does not end with its NUL");
    require(request->user_id.size() <= kSocks4MaxField, "USERID longer than 255 bytes");
    require(
        std::find(request->user_id.begin(), request->user_id.end(), '\0') == request->user_id.end(),
        "USERID contains a NUL");
    require(request->destination.port == (message[2] << 8 | message[3]), "DSTPORT differs");
    std::size_t expected = 8 + request->user_id.size() + 1;
    if (request->destination.type == AddressType::DomainName) {
        const std::string& host = request->destination.domain;
        require(!host.empty() && host.size() <= kSocks4MaxField, "4a host name length");
        require(host.find('\0') == std::string::npos, "4a host name contains a NUL");
        require(message[4] == 0 && message[5] == 0 && message[6] == 0 && message[7] != 0,
                "4a host name without DSTIP 0.0.0.x");
        expected += host.size() + 1;
    }
    require(consumed == expected, "consumed bytes differ from the fields");
    require(serialize_socks4_reply(Socks4Reply::Granted, request->destination).size() == 8,
            "SOCKS4 reply is not 8 bytes");
    std::string trace = format_trace("127.0.0.1:1", true, MessageKind::Socks4Request, message);
    require(!trace.empty(), "empty trace");
    return 0;
}
