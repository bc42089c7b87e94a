// libFuzzer target: RFC 1928 §7 UDP request header (chapter 06's
// parse_udp_header). A datagram is whole: a short one is an error.
#include <cstdint>

#include "datagram.hpp"
#include "fuzz_support.hpp"
#include "trace.hpp"

using namespace socks;
using socks::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView datagram(data, size);
    auto result = parse_udp_header(datagram);
    if (std::holds_alternative<ParseError>(result)) return 0;
    const UdpHeader& header = std::get<UdpHeader>(result);
    require(header.size <= datagram.size(), "header longer than the datagram");
    require(header.size >= 4 + 2 + 1, "header shorter than RSV FRAG ATYP ADDR PORT");
    require(header.fragment == datagram[2], "FRAG differs");

    // Wrapping DATA again with the same address gives back the datagram, with
    // RSV and FRAG as the server writes them (zeros).
    Bytes again = serialize_udp_datagram(header.destination, datagram.subspan(header.size));
    require(again.size() == datagram.size(), "re-wrapped datagram has another size");
    require(again[0] == 0 && again[1] == 0 && again[2] == 0, "RSV/FRAG not zero");
    for (std::size_t i = 3; i < again.size(); ++i) {
        require(again[i] == datagram[i], "re-wrapped datagram differs");
    }
    if (header.destination.type == AddressType::DomainName) {
        require(header.destination.domain.size() == datagram[4], "domain length differs");
    }
    std::string trace = format_trace("127.0.0.1:1", true, MessageKind::UdpDatagram, datagram);
    require(!trace.empty(), "empty trace");
    return 0;
}
