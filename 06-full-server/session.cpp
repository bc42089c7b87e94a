#include "session.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "auth.hpp"
#include "connect.hpp"
#include "dial.hpp"
#include "handshake.hpp"
#include "log.hpp"
#include "message.hpp"
#include "relay.hpp"
#include "socks4.hpp"
#include "trace.hpp"

namespace socks {

namespace {

// What the access log says about one session.
struct AccessRecord {
    std::string protocol = "-";  // "socks5", "socks4", "socks4a"
    std::string user = "-";
    std::string command = "-";
    std::string target = "-";
    std::string reply = "-";  // the reply code sent, as hex
    std::string note;         // why it ended
    RelayResult relayed;
};

std::string hex_byte(std::uint8_t value) {
    char text[4];
    std::snprintf(text, sizeof text, "%02x", value);
    return text;
}

// --trace: prints every message the earlier chapters' functions read or send.
class TraceObserver : public MessageObserver {
  public:
    explicit TraceObserver(std::string peer) : peer_(std::move(peer)) {
        set_message_observer(this);
    }
    ~TraceObserver() override { set_message_observer(nullptr); }
    void on_message(bool from_client, const char* name, ByteView bytes) override {
        if (auto kind = message_kind(name)) {
            std::string text = format_trace(peer_, from_client, *kind, bytes);
            text.pop_back();  // log() ends the line itself
            log_info("trace " + text);
        }
    }

  private:
    std::string peer_;
};

// The addresses for `destination`: --map first, then the system resolver.
Resolved resolve_with_map(const Config& config, const Address& destination) {
    if (destination.type == AddressType::DomainName) {
        auto mapped = config.hosts.find(normalize_host(destination.domain));
        if (mapped != config.hosts.end()) {
            Resolved result;
            for (SocketAddress address : mapped->second) {
                set_port(address, destination.port);
                result.addresses.push_back(address);
            }
            return result;
        }
    }
    return resolve(destination);
}

// Resolves, applies the rules to every address, and connects to the first
// allowed one that answers, from --outgoing-address when given.
Dialed dial_allowed(const Config& config, const SocketAddress& peer, Command command,
                    const Address& destination) {
    Dialed result;
    Resolved resolved = resolve_with_map(config, destination);
    if (resolved.addresses.empty()) {
        result.code = resolved.failure;
        result.detail = resolved.detail;
        return result;
    }
    result.code = ReplyCode::NotAllowedByRuleset;
    for (const SocketAddress& candidate : resolved.addresses) {
        std::string rule;
        RuleInput input{&peer, command, &destination, &candidate, destination.port};
        if (!config.rules.allows(input, &rule)) {
            if (result.code == ReplyCode::NotAllowedByRuleset) {
                result.detail = "denied " + candidate.to_string() + " by rule '" + rule + "'";
            }
            continue;
        }
        const SocketAddress* bind_to = nullptr;
        for (const SocketAddress& local : config.outgoing) {
            if (local.family() == candidate.family()) bind_to = &local;
        }
        if (!config.outgoing.empty() && bind_to == nullptr) {
            result.code = ReplyCode::NetworkUnreachable;
            result.detail = "no --outgoing-address for " + candidate.to_string();
            continue;
        }
        result = connect_first({candidate}, config.connect_timeout, bind_to);
        if (result.code == ReplyCode::Succeeded) break;
    }
    return result;
}

}  // namespace

void SessionContext::serve(const Fd& client, const SocketAddress& peer) {
    auto started = std::chrono::steady_clock::now();
    std::optional<TraceObserver> trace;
    if (config_.trace) trace.emplace(peer.to_string());
    // Until its request is read, a client has --handshake-timeout in all: the
    // socket is shut down then, however slowly the bytes were trickling in.
    auto deadline = deadlines_.arm(client, started + config_.handshake_timeout);
    AccessRecord record;
    std::optional<Connected> connected;

    // SOCKS4 and SOCKS5 share the port: peek at the first byte without taking it.
    std::uint8_t version = 0;
    ssize_t peeked;
    do {
        peeked = ::recv(client.get(), &version, 1, MSG_PEEK);
    } while (peeked < 0 && errno == EINTR);

    if (peeked == 1 && version == 0x04) {
        record.protocol = "socks4";
        Bytes bytes;
        auto received =
            read_message<Socks4Request>(client, parse_socks4_request, bytes, "socks4-request");
        if (auto* error = std::get_if<ParseError>(&received)) {
            if (error->reply)
                send_message(client, "socks4-reply", serialize_socks4_reply(Socks4Reply::Rejected));
            record.note = "bad SOCKS4 request: " + error->reason;
        } else {
            deadline.release();  // the request is in: the handshake limit has been met
            const Socks4Request& request = std::get<Socks4Request>(received);
            if (request.destination.type == AddressType::DomainName) record.protocol = "socks4a";
            record.user = request.user_id.empty() ? "-" : "userid:" + request.user_id;
            record.command = command_name(request.command);
            record.target = request.destination.to_string();
            Dialed dialed;
            if (!config_.users.empty()) {
                dialed.code = ReplyCode::NotAllowedByRuleset;
                dialed.detail = "SOCKS4 has no password, and --user is set";
            } else if (request.command != Command::Connect) {
                dialed.code = ReplyCode::CommandNotSupported;
                dialed.detail = "only CONNECT";
            } else {
                dialed = dial_allowed(config_, peer, request.command, request.destination);
            }
            bool ok = dialed.code == ReplyCode::Succeeded;
            Address bound = ok ? address_from(local_address(dialed.socket)) : Address{};
            auto code = ok ? Socks4Reply::Granted : Socks4Reply::Rejected;
            send_message(client, "socks4-reply", serialize_socks4_reply(code, bound));
            record.reply = hex_byte(static_cast<std::uint8_t>(code));
            record.note = dialed.detail;
            if (ok) connected = Connected{std::move(dialed.socket), request.destination};
        }
    } else if (peeked == 1) {
        record.protocol = "socks5";
        auto user = handshake(client, peer, config_.users);
        if (!user) {
            record.note = "handshake failed";
        } else {
            if (!user->empty()) record.user = *user;
            auto request = read_request(client, peer);
            if (!request) {
                record.note = "bad request";
            } else {
                deadline.release();
                record.command = command_name(request->command);
                record.target = request->destination.to_string();
                Dialed dialed;
                if (request->command != Command::Connect) {
                    dialed.code = ReplyCode::CommandNotSupported;
                } else {
                    dialed = dial_allowed(config_, peer, request->command, request->destination);
                }
                bool ok = dialed.code == ReplyCode::Succeeded;
                send_reply(client, dialed.code,
                           ok ? address_from(local_address(dialed.socket)) : Address{});
                record.reply = hex_byte(static_cast<std::uint8_t>(dialed.code));
                record.note = ok ? ""
                                 : reply_name(dialed.code) +
                                       (dialed.detail.empty() ? "" : " (" + dialed.detail + ")");
                if (ok) connected = Connected{std::move(dialed.socket), request->destination};
            }
        }
    } else {
        record.note = "closed before sending anything";
    }
    if (deadline.expired()) record.note = "handshake timeout";
    deadline.release();
    if (connected) {
        RelayOptions options;
        options.idle_timeout = config_.idle_timeout;
        record.relayed = relay(client, connected->target, options);
        record.note = record.relayed.ended;
    }
    // One line per session, key=value, for operators and their tools.
    log_info("access client=" + peer.to_string() + " proto=" + record.protocol + " user=" +
             record.user + " cmd=" + (record.command == "UDP ASSOCIATE" ? "UDP" : record.command) +
             " target=" + record.target + " reply=" + record.reply +
             " up=" + std::to_string(record.relayed.client_to_target) +
             " down=" + std::to_string(record.relayed.target_to_client) +
             " duration=" + format_seconds(std::chrono::steady_clock::now() - started) +
             (record.note.empty() ? "" : " note=\"" + record.note + "\""));
}

}  // namespace socks
