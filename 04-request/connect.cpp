#include "connect.hpp"

#include "dial.hpp"
#include "log.hpp"

namespace socks {

std::optional<Request> read_request(const Fd& client, const SocketAddress& peer) {
    Bytes bytes;
    auto received = read_message<Request>(client, parse_request, bytes, "request");
    if (auto* error = std::get_if<ParseError>(&received)) {
        if (error->reply) send_reply(client, static_cast<ReplyCode>(*error->reply));
        log_info(peer.to_string() + ": bad request: " + error->reason + "; closing");
        return std::nullopt;
    }
    return std::get<Request>(received);
}

void send_reply(const Fd& client, ReplyCode code, const Address& bound) {
    send_message(client, "reply", serialize_reply(code, bound));
}

std::optional<Connected> serve_request(const Fd& client, const SocketAddress& peer,
                                       const RequestOptions& options) {
    auto request = read_request(client, peer);
    if (!request) return std::nullopt;
    std::string what = peer.to_string() + " " + command_name(request->command) + " " +
                       request->destination.to_string();
    if (request->command != Command::Connect) {
        send_reply(client, ReplyCode::CommandNotSupported);
        log_info(what + ": " + reply_name(ReplyCode::CommandNotSupported));
        return std::nullopt;
    }
    Dialed dialed = dial(request->destination, options.connect_timeout);
    if (dialed.code != ReplyCode::Succeeded) {
        send_reply(client, dialed.code);
        log_info(what + ": " + reply_name(dialed.code) + " (" + dialed.detail + ")");
        return std::nullopt;
    }
    // [docs:success]
    // BND is where the server's outgoing connection really comes from.
    SocketAddress bound = local_address(dialed.socket);
    send_reply(client, ReplyCode::Succeeded, address_from(bound));
    log_info(what + ": succeeded via " + bound.to_string());
    return Connected{std::move(dialed.socket), request->destination};
    // [/docs:success]
}

}  // namespace socks
