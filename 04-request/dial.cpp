#include "dial.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include "log.hpp"

namespace socks {

namespace {
bool ends_with_label(std::string name, const std::string& label) {
    while (!name.empty() && name.back() == '.')
        name.pop_back();
    for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name == label || name.ends_with("." + label);
}
}  // namespace

bool asks_dns(const Address& destination) {
    if (destination.type != AddressType::DomainName) return false;
    // An address written as a name ("127.0.0.1", "::1": what clients that let
    // the proxy resolve send for an address) is read, not looked up.
    in6_addr ignored;
    if (::inet_pton(AF_INET, destination.domain.c_str(), &ignored) == 1 ||
        ::inet_pton(AF_INET6, destination.domain.c_str(), &ignored) == 1)
        return false;
    // RFC 6761: ".invalid" names never resolve, and resolvers should say so at
    // once instead of asking a DNS server (resolve() does).
    return !ends_with_label(destination.domain, "invalid");
}

Resolved resolve(const Address& destination) {
    Resolved result;
    if (destination.type != AddressType::DomainName) {
        SocketAddress address;
        if (destination.type == AddressType::IPv4) {
            auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
            v4->sin_family = AF_INET;
            v4->sin_port = htons(destination.port);
            std::memcpy(&v4->sin_addr, destination.ip.data(), 4);
            address.size = sizeof(sockaddr_in);
        } else {
            auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(destination.port);
            std::memcpy(&v6->sin6_addr, destination.ip.data(), 16);
            address.size = sizeof(sockaddr_in6);
        }
        result.addresses.push_back(address);
        return result;
    }
    if (ends_with_label(destination.domain, "invalid")) {  // RFC 6761: ask nobody
        result.failure = ReplyCode::HostUnreachable;
        result.detail =
            "resolve " + printable(destination.domain) + ": a .invalid name never resolves";
        return result;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    std::string port = std::to_string(destination.port);
    int status = ::getaddrinfo(destination.domain.c_str(), port.c_str(), &hints, &list);
    if (status != 0) {
        result.failure = ReplyCode::HostUnreachable;
        result.detail = "resolve " + printable(destination.domain) + ": " + ::gai_strerror(status);
        return result;
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, ::freeaddrinfo);
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        SocketAddress address;
        std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
        address.size = ai->ai_addrlen;
        result.addresses.push_back(address);
    }
    return result;
}

ReplyCode reply_code_for_errno(int error) {
    // BEGIN SOLUTION ch04: map connect()'s errno to the RFC's reply code (refused 05, network unreachable 03, host unreachable or timeout 04, ...)
    switch (error) {
        case ECONNREFUSED:
            return ReplyCode::ConnectionRefused;
        case ENETUNREACH:
        case ENETDOWN:
            return ReplyCode::NetworkUnreachable;
        case EHOSTUNREACH:
        case EHOSTDOWN:
        case ETIMEDOUT:
            return ReplyCode::HostUnreachable;
        case EACCES:
        case EPERM:
            return ReplyCode::NotAllowedByRuleset;  // a local firewall said no
        default:
            return ReplyCode::GeneralFailure;
    }
    // END SOLUTION
}

namespace {
// connect() with a deadline: start it non-blocking, wait with poll(), read the
// outcome from SO_ERROR, then make the socket blocking again for the relay.
int connect_with_timeout(const Fd& socket, const SocketAddress& address,
                         std::chrono::milliseconds timeout) {
    int flags = ::fcntl(socket.get(), F_GETFL);
    ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK);
    int error = 0;
    if (::connect(socket.get(), address.get(), address.size) < 0) {
        error = errno;
        if (error == EINPROGRESS) {
            pollfd p{socket.get(), POLLOUT, 0};
            int ready;
            do {
                ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
            } while (ready < 0 && errno == EINTR);
            if (ready == 0) {
                error = ETIMEDOUT;
            } else {
                socklen_t size = sizeof error;
                ::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &size);
            }
        }
    }
    ::fcntl(socket.get(), F_SETFL, flags);
    return error;
}
}  // namespace

Dialed connect_first(const std::vector<SocketAddress>& candidates,
                     std::chrono::milliseconds timeout, const SocketAddress* bind_to) {
    Dialed result;
    result.detail = "no address to connect to";
    for (const SocketAddress& address : candidates) {
        if (bind_to != nullptr && bind_to->family() != address.family()) continue;
        Fd socket(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
        int error = socket ? 0 : errno;
        if (!error && bind_to != nullptr &&
            ::bind(socket.get(), bind_to->get(), bind_to->size) < 0) {
            error = errno;
        }
        if (!error) error = connect_with_timeout(socket, address, timeout);
        if (error == 0) {
            result.socket = std::move(socket);
            result.code = ReplyCode::Succeeded;
            result.detail.clear();
            return result;
        }
        result.code = reply_code_for_errno(error);
        result.detail = "connect " + address.to_string() + ": " + std::strerror(error);
    }
    return result;
}

Dialed dial(const Address& destination, std::chrono::milliseconds timeout) {
    Resolved resolved = resolve(destination);
    if (resolved.addresses.empty()) {
        Dialed failed;
        failed.code = resolved.failure;
        failed.detail = resolved.detail;
        return failed;
    }
    return connect_first(resolved.addresses, timeout);
}

}  // namespace socks
