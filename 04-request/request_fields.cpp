#include "auth.hpp"
#include "request.hpp"

namespace socks {

void describe_address(ByteView bytes, std::size_t at, const std::string& prefix,
                      std::vector<Field>& fields) {
    std::size_t size = 0;
    Parsed<Address> parsed = parse_address(bytes.subspan(at), size);
    const Address* address = std::get_if<Address>(&parsed);
    if (address == nullptr) return;
    static const char* types[] = {"", "IPv4", "", "DOMAINNAME", "IPv6"};
    fields.push_back({at, 1, "ATYP", types[bytes[at]]});
    std::size_t addr_at = at + 1, addr_size = size - 3;
    if (address->type == AddressType::DomainName) {
        fields.push_back({at + 1, 1, "LEN", std::to_string(bytes[at + 1])});
        addr_at += 1;
        addr_size -= 1;
    }
    fields.push_back({addr_at, addr_size, prefix + ".ADDR", address->host()});
    fields.push_back(
        {addr_at + addr_size, 2, prefix + ".PORT", port_at(bytes, addr_at + addr_size)});
}

std::vector<Field> describe_request(std::string_view name, ByteView b) {
    std::vector<Field> f;
    if (name == "request") {
        f.push_back({0, 1, "VER", std::to_string(b[0])});
        f.push_back({1, 1, "CMD", command_name(static_cast<Command>(b[1]))});
        f.push_back({2, 1, "RSV", ""});
        describe_address(b, 3, "DST", f);
    } else if (name == "reply") {
        f.push_back({0, 1, "VER", std::to_string(b[0])});
        f.push_back({1, 1, "REP", reply_name(static_cast<ReplyCode>(b[1]))});
        f.push_back({2, 1, "RSV", ""});
        describe_address(b, 3, "BND", f);
    } else {
        return describe_auth(name, b);
    }
    return f;
}

}  // namespace socks
