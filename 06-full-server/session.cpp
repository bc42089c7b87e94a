#include "session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <system_error>

#include "auth.hpp"
#include "bind.hpp"
#include "connect.hpp"
#include "fast_relay.hpp"
#include "handshake.hpp"
#include "hang_up.hpp"
#include "json.hpp"
#include "log.hpp"
#include "message.hpp"
#include "proxy_protocol.hpp"
#include "relay.hpp"
#include "server.hpp"
#include "socks4.hpp"
#include "targets.hpp"
#include "trace.hpp"
#include "udp_relay.hpp"

namespace socks {

// What the access log says about one session.
struct SessionContext::AccessRecord {
    std::string protocol = "-";  // "socks5", "socks4", "socks4a"
    std::string user = "-";
    std::string command = "-";
    std::string target = "-";
    std::string via;      // the balancer that named the client (PROXY protocol)
    int reply = -1;       // the last reply code sent
    std::string note;     // how it ended
    bool silent = false;  // closed before sending a byte (a health check, perhaps)
    std::uint64_t up = 0, down = 0;
};

namespace {

std::string reply_text(int reply) {
    if (reply < 0) return "-";
    char text[16];
    std::snprintf(text, sizeof text, "%02x", reply);
    return text;
}

// Sees every message the earlier chapters' functions read or send: keeps the
// user name a client tried (the handshake returns it only on success, and the
// operator wants to know who failed), and with --trace prints each message.
class SessionObserver {
  public:
    SessionObserver(std::string peer, bool trace) : peer_(std::move(peer)), trace_(trace) {
        set_message_observer(&observer_);
    }
    ~SessionObserver() { set_message_observer(nullptr); }
    SessionObserver(const SessionObserver&) = delete;
    SessionObserver& operator=(const SessionObserver&) = delete;

    void on_message(bool from_client, const char* name, ByteView bytes) {
        auto kind = message_kind(name);
        if (!kind) return;
        // RFC 1929: VER ULEN UNAME PLEN PASSWD. Only the name is kept.
        if (from_client && *kind == MessageKind::UserPass && bytes.size() >= 2 &&
            bytes.size() >= 2u + bytes[1]) {
            tried_user_.emplace(reinterpret_cast<const char*>(bytes.data()) + 2, bytes[1]);
        }
        if (trace_) {
            std::string text = format_trace(peer_, from_client, *kind, bytes);
            text.pop_back();  // log() ends the line itself
            log_info("trace " + text);
        }
    }
    const std::optional<std::string>& tried_user() const { return tried_user_; }

  private:
    std::string peer_;
    bool trace_;
    std::optional<std::string> tried_user_;
    MessageObserver observer_ = [this](bool from_client, const char* name, ByteView bytes) {
        on_message(from_client, name, bytes);
    };
};

// While it lives, this thread's INFO lines that begin with `prefix` (the
// earlier chapters' "PEER: why" lines) are held back instead of written, and
// the last one is kept, without the prefix, for the session's access line. So
// a session writes one line, and a client that sends wrong passwords or
// garbage as fast as it can gets no more lines than --log-refusals allows.
class HeldLines {
  public:
    explicit HeldLines(std::string prefix) : prefix_(std::move(prefix)) {
        set_thread_line_filter(&filter_);
    }
    ~HeldLines() { set_thread_line_filter(nullptr); }
    HeldLines(const HeldLines&) = delete;
    HeldLines& operator=(const HeldLines&) = delete;
    const std::string& last() const { return last_; }

  private:
    std::string prefix_;
    std::string last_;
    LineFilter filter_ = [this](std::string_view message) {
        if (!message.starts_with(prefix_)) return false;
        last_ = message.substr(prefix_.size());
        return true;
    };
};

// TCP keepalive: a peer that vanished (powered off, a NAT that forgot the
// connection) is found within idle + 6 x 10 s, and its session ends.
// Whether what the client has sent so far begins like a PROXY header (peeked,
// not taken: anything else goes on to the SOCKS handshake as before).
bool proxy_header_sent(const Fd& client) {
    std::uint8_t start[16];
    ssize_t got;
    do {
        got = ::recv(client.get(), start, sizeof start, MSG_PEEK | MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    return got > 0 && starts_like_proxy_header(ByteView(start, static_cast<std::size_t>(got)));
}

bool in_any(const std::vector<Network>& networks, const SocketAddress& address) {
    for (const Network& network : networks) {
        if (network.contains(address)) return true;
    }
    return false;
}

bool trusted_balancer(const Config& config, const SocketAddress& peer) {
    return in_any(config.proxy_protocol_from, peer);
}

void set_keepalive(const Fd& socket, std::chrono::seconds idle) {
    if (idle.count() <= 0) return;
    int on = 1, seconds = static_cast<int>(idle.count()), interval = 10, probes = 6;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(socket.get(), IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

}  // namespace

void SessionContext::log_suppressed(const std::string& source, std::uint64_t count) {
    if (config_.log_json) {
        log_line(
            LogLevel::Info,
            JsonObject()
                .add("time", log_timestamp())
                .add("client", source)
                .add("suppressed", std::uint64_t{count})
                .add("ended", std::to_string(count) + " similar lines suppressed (--log-refusals " +
                                  std::to_string(config_.log_refusals) + " a minute)")
                .str());
        return;
    }
    log_info("access client=" + source + " suppressed=" + std::to_string(count) + " note=\"" +
             std::to_string(count) + " similar lines suppressed (--log-refusals " +
             std::to_string(config_.log_refusals) + " a minute)\"");
}

SessionContext::SessionContext(const Config& config)
    : config_(config),
      per_source_({.sessions = config.max_per_source,
                   .login_failures = config.max_login_failures,
                   .refusal_lines = config.log_refusals}) {
    nobody_.add(std::string(256, '-'), "");
}

SessionContext::~SessionContext() {
    for (const auto& [source, count] : per_source_.take_suppressed()) {
        log_suppressed(source, count);
    }
}

// [docs:session-frames]
// The relay is the part of a session that lasts, so it runs with as little
// stack above it as possible: negotiate() and log_access() are separate,
// non-inlined calls whose deep frames (the handshake's buffers, the resolver,
// the log line's temporaries) are gone while the relay waits. An idle session
// then keeps two pages of stack resident instead of three (docs/performance.md).
void SessionContext::serve(const Fd& client, const SocketAddress& connected) {
    auto started = std::chrono::steady_clock::now();
    AccessRecord record;
    // Behind a trusted load balancer the client is the one its PROXY header
    // names: rules, limits, the UDP source check and the log all see that one.
    std::optional<SocketAddress> named;
    if (trusted_balancer(config_, connected)) {
        named = client_behind_balancer(client, connected, record);
        if (!named) {
            if (!(record.silent && in_any(config_.health_from, connected))) {
                log_refusal(connected, record, std::chrono::steady_clock::now() - started);
            }
            hang_up(client);  // a FIN, not a reset for the bytes left unread
            return;
        }
    }
    const SocketAddress& peer = named ? *named : connected;
    PerSource::Slot slot = per_source_.enter(peer);
    if (!slot.admitted()) {
        // Closed before a byte is read, like a client past --max-connections,
        // and at once: with no reply to deliver there is nothing to linger for,
        // and lingering would let this address hold threads past its share.
        record.note = "too many sessions from this address (--max-per-source " +
                      std::to_string(config_.max_per_source) + ")";
        log_refusal(peer, record, std::chrono::steady_clock::now() - started);
        return;
    }
    set_keepalive(client, config_.keepalive);
    std::optional<Fd> other_side;
    try {
        other_side = negotiate(client, peer, record);
    } catch (const std::system_error& error) {
        if (stopping()) throw;  // chapter 01 logs the stop's cut
        // A reset or a failed read before the request was answered: one access
        // line like any refusal, so it counts against --log-refusals too.
        record.note = record.note.empty() ? error.what() : record.note + ", " + error.what();
        log_refusal(peer, record, std::chrono::steady_clock::now() - started);
        return;
    }
    if (other_side) {
        set_keepalive(*other_side, config_.keepalive);
        RelayResult relayed;
        if (config_.splice_relay) {
            relayed = fast_relay(client, *other_side, {.idle_timeout = config_.idle_timeout});
        } else {
            relayed = relay(client, *other_side, {.idle_timeout = config_.idle_timeout});
        }
        record.up = relayed.client_to_target;
        record.down = relayed.target_to_client;
        record.note = (record.note.empty() ? "" : record.note + ", ") + relayed.ended;
        log_access(peer, record, std::chrono::steady_clock::now() - started);
        return;
    }
    // A refusal is logged before the hang-up, so the line is there by the time
    // the client sees the server's FIN, and the linger is not counted as work.
    // A health check (--health-from) that said nothing is not logged at all.
    if (!(record.silent && in_any(config_.health_from, peer))) {
        log_refusal(peer, record, std::chrono::steady_clock::now() - started);
    }
    hang_up(client);  // a refusal's reply must not be lost to a reset (chapter 02)
}
// [/docs:session-frames]

[[gnu::noinline]] std::optional<SocketAddress> SessionContext::client_behind_balancer(
    const Fd& client, const SocketAddress& balancer, AccessRecord& record) {
    // The header is part of the handshake: it has --handshake-timeout too.
    auto deadline =
        deadlines_.arm(client, config_.handshake_timeout.count() > 0
                                   ? std::chrono::steady_clock::now() + config_.handshake_timeout
                                   : Deadlines::Clock::time_point::max());
    // A balancer's plain TCP health check connects and closes without a byte.
    std::uint8_t first = 0;
    ssize_t peeked;
    do {
        peeked = ::recv(client.get(), &first, 1, MSG_PEEK);
    } while (peeked < 0 && errno == EINTR);
    if (peeked == 0 && !deadline.expired()) {
        record.note = "closed before sending anything";
        record.silent = true;
        return std::nullopt;
    }
    Bytes bytes;
    auto received = read_message<ProxyHeader>(client, parse_proxy_header, bytes, "proxy-header");
    if (auto* error = std::get_if<ParseError>(&received)) {
        record.note = deadline.expired()
                          ? "handshake timeout (waiting for the PROXY protocol header)"
                          : "no valid PROXY protocol header from a --proxy-protocol-from "
                            "source: " +
                                error->reason;
        return std::nullopt;
    }
    record.via = balancer.to_string();
    auto& header = std::get<ProxyHeader>(received);
    return header.source ? *header.source : balancer;
}

[[gnu::noinline]] std::optional<Fd> SessionContext::negotiate(const Fd& client,
                                                              const SocketAddress& peer,
                                                              AccessRecord& record) {
    auto started = std::chrono::steady_clock::now();
    SessionObserver observer(config_.trace ? peer.to_string() : std::string(), config_.trace);
    // Until its request is read, a client has --handshake-timeout in all: the
    // socket is shut down then, however slowly the bytes were trickling in.
    auto deadline = deadlines_.arm(client, config_.handshake_timeout.count() > 0
                                               ? started + config_.handshake_timeout
                                               : Deadlines::Clock::time_point::max());

    // The request, in either protocol, and how to answer it in that protocol.
    std::optional<Request> request;
    ReplySender reply;
    // The earlier chapters' "PEER: why" lines (a bad greeting, a wrong
    // password, a bad request) go into this session's access line instead of
    // lines of their own: one line per session, limited per client address.
    // Only until the request is in: BIND and UDP ASSOCIATE log as they go.
    std::optional<HeldLines> held(std::in_place, peer.to_string() + ": ");
    auto failed = [&held](const std::string& what) {
        const std::string& last = held->last();
        if (last.empty()) return what;
        return last.starts_with(what) ? last : what + ": " + last;
    };

    // SOCKS4 and SOCKS5 share the port: peek at the first byte without taking it.
    // [docs:peek]
    std::uint8_t version = 0;
    ssize_t peeked;
    do {
        peeked = ::recv(client.get(), &version, 1, MSG_PEEK);
    } while (peeked < 0 && errno == EINTR);
    // [/docs:peek]

    if (peeked == 1 && version == 0x04) {
        record.protocol = "socks4";
        Bytes bytes;
        auto received =
            read_message<Socks4Request>(client, parse_socks4_request, bytes, "socks4-request");
        if (auto* error = std::get_if<ParseError>(&received)) {
            if (error->reply) {
                send_message(client, "socks4-reply", serialize_socks4_reply(Socks4Reply::Rejected));
                record.reply = *error->reply;
            }
            record.note = "bad SOCKS4 request: " + error->reason;
        } else {
            auto& socks4 = std::get<Socks4Request>(received);
            if (socks4.destination.type == AddressType::DomainName) record.protocol = "socks4a";
            if (!socks4.user_id.empty()) record.user = "userid:" + printable(socks4.user_id);
            request = Request{socks4.command, socks4.destination};
            reply = [&client, &record](ReplyCode code, const Address& bound) {
                auto answer =
                    code == ReplyCode::Succeeded ? Socks4Reply::Granted : Socks4Reply::Rejected;
                send_message(client, "socks4-reply", serialize_socks4_reply(answer, bound));
                record.reply = static_cast<int>(answer);
            };
            if (!config_.users.empty()) {
                // SOCKS4 has no password: with --user set, it would be a way around it.
                record.command = command_name(request->command);
                record.target = request->destination.to_string();
                reply(ReplyCode::NotAllowedByRuleset, {});
                record.note = "SOCKS4 has no password, and --user is set";
                request.reset();
            }
        }
    } else if (peeked == 1 && (version == 'P' || version == '\r') && proxy_header_sent(client)) {
        // Anyone could write a PROXY header naming any address: only the
        // balancers of --proxy-protocol-from are believed (serve() above).
        record.note = "a PROXY protocol header from a source not in --proxy-protocol-from";
    } else if (peeked == 1) {
        record.protocol = "socks5";
        // Past --max-login-failures, this address's passwords are all wrong
        // until its minute is over; the client sees the usual 01 01.
        bool refused = !config_.users.empty() && per_source_.logins_refused(peer);
        if (auto user = handshake(client, peer, refused ? nobody_ : config_.users)) {
            if (!user->empty()) record.user = printable(*user);
            request = read_request(client, peer);
            if (!request) record.note = failed("bad request");
            reply = [&client, &record](ReplyCode code, const Address& bound) {
                send_reply(client, code, bound);
                record.reply = static_cast<int>(code);
            };
        } else {
            record.note = failed("handshake failed");
            // The name tried, marked so that it is never taken for a login.
            if (observer.tried_user()) {
                record.user = "tried:" + printable(*observer.tried_user());
                if (refused) {
                    record.note =
                        "handshake failed: logins from this address refused for the rest of the "
                        "minute (--max-login-failures " +
                        std::to_string(config_.max_login_failures) + ")";
                } else {
                    per_source_.login_failed(peer);
                }
            }
        }
    } else {
        record.note = "closed before sending anything";
        record.silent = true;
    }
    if (deadline.expired()) {
        record.note = "handshake timeout";
        request.reset();
    }
    deadline.release();  // the request is in (or the session is over)
    held.reset();

    if (request) {
        record.command = command_name(request->command);
        record.target = request->destination.to_string();
        std::optional<Fd> other_side;  // what to relay to
        switch (request->command) {
            case Command::Connect: {
                Dialed dialed = dial_allowed(config_, peer, Command::Connect, request->destination);
                bool ok = dialed.code == ReplyCode::Succeeded;
                reply(dialed.code, ok ? address_from(local_address(dialed.socket)) : Address{});
                if (ok)
                    other_side = std::move(dialed.socket);
                else
                    record.note = reply_name(dialed.code) + " (" + dialed.detail + ")";
                break;
            }
            case Command::Bind: {
                BindOutcome bound = serve_bind(config_, client, peer, request->destination, reply);
                if (bound.code == ReplyCode::Succeeded) other_side = std::move(bound.peer);
                record.note = bound.detail;
                break;
            }
            case Command::UdpAssociate:
                if (record.protocol == "socks5") {
                    UdpStats udp =
                        serve_udp_associate(config_, client, peer, request->destination, reply);
                    record.up = udp.bytes_up;
                    record.down = udp.bytes_down;
                    record.note = std::to_string(udp.datagrams_up) +
                                  (udp.datagrams_up == 1 ? " datagram up, " : " datagrams up, ") +
                                  std::to_string(udp.datagrams_down) + " down, " +
                                  std::to_string(udp.dropped) + " dropped, " + udp.ended;
                    break;
                }
                [[fallthrough]];  // SOCKS4 has no UDP
            default:
                reply(ReplyCode::CommandNotSupported, {});
                record.note = reply_name(ReplyCode::CommandNotSupported);
                break;
        }
        return other_side;
    }
    return std::nullopt;
}

void SessionContext::log_refusal(const SocketAddress& peer, const AccessRecord& record,
                                 std::chrono::steady_clock::duration took) {
    std::uint64_t held_back = 0;
    if (!per_source_.may_log_refusal(peer, held_back)) return;
    if (held_back != 0) {
        log_suppressed(PerSource::source_of(peer), held_back);
    }
    log_access(peer, record, took);
}

// One line per session, key=value, for operators and their tools.
[[gnu::noinline]] void SessionContext::log_access(const SocketAddress& peer,
                                                  const AccessRecord& record,
                                                  std::chrono::steady_clock::duration took) {
    if (config_.log_json) {
        log_access_json(peer, record, took);
        return;
    }
    log_info("access client=" + peer.to_string() +
             (record.via.empty() ? "" : " via=" + record.via) + " proto=" + record.protocol +
             " user=" + record.user +
             " cmd=" + (record.command == "UDP ASSOCIATE" ? "UDP" : record.command) +
             " target=" + record.target + " reply=" + reply_text(record.reply) +
             " up=" + std::to_string(record.up) + " down=" + std::to_string(record.down) +
             " duration=" + format_seconds(took) +
             (record.note.empty() ? "" : " note=\"" + record.note + "\""));
}

// --log-format json: the same record as one JSON object; "-" (not known) is null.
void SessionContext::log_access_json(const SocketAddress& peer, const AccessRecord& record,
                                     std::chrono::steady_clock::duration took) {
    JsonObject line;
    line.add("time", log_timestamp()).add("client", peer.to_string());
    if (!record.via.empty()) line.add("via", record.via);
    auto text_or_null = [&line](const char* key, const std::string& value) {
        if (value == "-")
            line.add_null(key);
        else
            line.add(key, value);
    };
    text_or_null("proto", record.protocol);
    text_or_null("user", record.user);
    text_or_null("command", record.command);
    text_or_null("target", record.target);
    text_or_null("reply", reply_text(record.reply));
    line.add("bytes_up", record.up)
        .add("bytes_down", record.down)
        .add("duration", std::chrono::duration<double>(took).count())
        .add("ended", record.note);
    log_line(LogLevel::Info, line.str());
}

}  // namespace socks
