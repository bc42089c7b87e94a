#include "connect.hpp"

#include "dial.hpp"
#include "log.hpp"

namespace socks {

std::optional<Connected> serve_request(const Fd& client, const SocketAddress& peer,
                                       const RequestOptions& options) {
    Bytes bytes;
    auto received = read_message<Request>(client, parse_request, bytes);
    if (auto* error = std::get_if<ParseError>(&received)) {
        if (error->reply) write_all(client, serialize_reply(static_cast<ReplyCode>(*error->reply)));
        log_info(peer.to_string() + ": bad request: " + error->reason + "; closing");
        return std::nullopt;
    }
    const Request& request = std::get<Request>(received);
    std::string what = peer.to_string() + " " + command_name(request.command) + " " +
                       request.destination.to_string();
    if (request.command != Command::Connect) {
        write_all(client, serialize_reply(ReplyCode::CommandNotSupported));
        log_info(what + ": " + reply_name(ReplyCode::CommandNotSupported));
        return std::nullopt;
    }

    Resolved resolved = resolve(request.destination);
    Dialed dialed;
    if (resolved.addresses.empty()) {
        dialed.code = resolved.failure;
        dialed.detail = resolved.detail;
    } else {
        dialed = connect_first(resolved.addresses, options.connect_timeout);
    }
    if (dialed.code != ReplyCode::Succeeded) {
        write_all(client, serialize_reply(dialed.code));
        log_info(what + ": " + reply_name(dialed.code) + " (" + dialed.detail + ")");
        return std::nullopt;
    }
    // BND is where the server's outgoing connection really comes from.
    write_all(client,
              serialize_reply(ReplyCode::Succeeded, address_from(local_address(dialed.socket))));
    log_info(what + ": succeeded via " + local_address(dialed.socket).to_string());
    return Connected{std::move(dialed.socket), request.destination};
}

}  // namespace socks
