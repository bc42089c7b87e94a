// libFuzzer target: the PROXY protocol header a load balancer sends first
// (chapter 06's parse_proxy_header, versions 1 and 2).
#include <cstdint>
#include <cstring>

#include "fuzz_support.hpp"
#include "proxy_protocol.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    std::size_t consumed = 0;
    auto result = fuzz::feed<ProxyHeader>(parse_proxy_header, input, consumed);
    if (auto* error = std::get_if<ParseError>(&result)) {
        require(!error->reply, "a PROXY header error has no reply byte");
        fuzz::check_error_is_final<ProxyHeader>(parse_proxy_header, input, consumed);
        return 0;
    }
    auto* header = std::get_if<ProxyHeader>(&result);
    if (header == nullptr) return 0;

    ByteView message = input.first(consumed);
    fuzz::check_prefixes<ProxyHeader>(parse_proxy_header, message);
    require(starts_like_proxy_header(message), "accepted a header that does not look like one");
    require(header->source.has_value() == header->destination.has_value(),
            "a source without a destination");
    if (header->version == 1) {
        require(consumed <= kProxyV1MaxLength, "v1 line longer than 107 bytes");
        require(message[consumed - 2] == '\r' && message[consumed - 1] == '\n',
                "v1 line does not end in CRLF");
        require(std::memchr(message.data(), '\n', consumed - 1) == nullptr,
                "v1 consumed past its first LF");
    } else {
        require(header->version == 2, "version is neither 1 nor 2");
        std::size_t length = (std::size_t{message[14]} << 8) | message[15];
        require(consumed == 16 + length, "v2 consumed bytes differ from its length field");
        require(length <= kProxyV2MaxLength, "v2 longer than the cap");
    }
    if (header->source) {
        int family = header->source->family();
        require(family == AF_INET || family == AF_INET6, "source is not IPv4 or IPv6");
        require(header->destination->family() == family, "source and destination families differ");
    }
    return 0;
}
