// libFuzzer target: RFC 1928 §4 request (chapter 04's parse_request and
// parse_address), checked against its own serializer.
#include <cstdint>

#include "fuzz_support.hpp"
#include "request.hpp"
#include "trace.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    std::size_t consumed = 0;
    auto result = fuzz::feed<Request>(parse_request, input, consumed);
    if (auto* error = std::get_if<ParseError>(&result)) {
        // A reply, when there is one, is an RFC code: 04 (empty name) or 08 (ATYP).
        require(!error->reply || *error->reply == 0x04 || *error->reply == 0x08,
                "unexpected reply code for a bad request");
        if (error->reply) {
            require(serialize_reply(static_cast<ReplyCode>(*error->reply)).size() >= 10,
                    "a failure reply shorter than 10 bytes");
        }
        fuzz::check_error_is_final<Request>(parse_request, input, consumed);
        return 0;
    }
    auto* request = std::get_if<Request>(&result);
    if (request == nullptr) return 0;

    ByteView message = input.first(consumed);
    fuzz::check_prefixes<Request>(parse_request, message);
    require(message[0] == 0x05, "accepted a request VER other than 05");
    require(static_cast<std::uint8_t>(request->command) == message[1], "CMD differs");

    // ATYP ADDR PORT serialize back to exactly the bytes they came from, so
    // nothing after the request was taken and nothing in it was lost.
    Bytes address;
    serialize_address(request->destination, address);
    require(address.size() == consumed - 3, "address size differs from the bytes consumed");
    for (std::size_t i = 0; i < address.size(); ++i) {
        require(address[i] == message[3 + i], "address does not serialize back to its bytes");
    }
    if (request->destination.type == AddressType::DomainName) {
        require(!request->destination.domain.empty(), "accepted an empty domain name");
    }
    // A reply naming this address is a whole message too.
    require(serialize_reply(ReplyCode::Succeeded, request->destination).size() == consumed,
            "reply and request sizes differ for the same address");
    require(!request->destination.to_string().empty(), "empty address text");
    require(!command_name(request->command).empty(), "empty command name");

    std::string trace = format_trace("127.0.0.1:1", true, MessageKind::Request, message);
    require(!trace.empty(), "empty trace");
    return 0;
}
