// libFuzzer target: chapter 06's whole server side (SessionContext::serve:
// SOCKS4/4a/5, RFC 1929, request, rules, trace) fed an arbitrary client byte
// stream over a connected socket pair.
//
// Input: [flags] [split] [client bytes...]
//   flags bit 0: --user alice:secret      bit 1: --trace
//   split: seeds the chunk sizes the client writes in (1 to 16 bytes each)
// The stream is played twice: written whole before the server reads, and in
// chunks while the server reads in its own thread. The server must answer
// both with exactly the same bytes: one recv() is not one message.
//
// Hermetic and fast: every destination is denied (--deny all), so nothing is
// ever dialed, bound or listened on; names resolve only when numeric (see
// getaddrinfo below), so no input reaches a DNS server.
#include <dlfcn.h>
#include <netdb.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <thread>

#include "fuzz_support.hpp"
#include "log.hpp"
#include "session.hpp"

using namespace socks;
using socks::fuzz::require;

// The fuzzer writes host names; resolving them would ask the real DNS. This
// definition takes the place of libc's for the whole program: numeric hosts
// only (AI_NUMERICHOST), which never leave the process.
extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
    using Real = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
    static const Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "getaddrinfo"));
    struct addrinfo numeric {};
    if (hints != nullptr) numeric = *hints;
    numeric.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &numeric, res);
}

namespace {

constexpr std::size_t kMaxStream = 32 * 1024;  // well below a socket pair's buffer

struct Harness {
    std::array<std::unique_ptr<Config>, 4> configs;
    std::array<std::unique_ptr<SessionContext>, 4> contexts;
    SocketAddress peer;

    Harness() {
        set_log_level(LogLevel::Error);  // the access log would flood stderr
        for (unsigned flags = 0; flags < 4; ++flags) {
            auto config = std::make_unique<Config>();
            if (flags & 1) config->users.add("alice", "secret");
            config->trace = (flags & 2) != 0;
            config->rules.add(Rule::parse(false, "all"));
            config->connect_timeout = std::chrono::milliseconds(200);
            config->bind_timeout = std::chrono::milliseconds(200);
            contexts[flags] = std::make_unique<SessionContext>(*config);
            configs[flags] = std::move(config);
        }
        auto* v4 = reinterpret_cast<sockaddr_in*>(&peer.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(40000);
        v4->sin_addr.s_addr = htonl(0x7F000001);
        peer.size = sizeof(sockaddr_in);
    }
};

std::pair<Fd, Fd> socket_pair() {
    int fds[2];
    require(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
    Fd client(fds[0]), server(fds[1]);
    // A hang is a bug: no read of ours waits longer than this.
    set_receive_timeout(client, std::chrono::seconds(10));
    return {std::move(client), std::move(server)};
}

// Sends what it can; the server may close early, which is fine (EPIPE).
void send_quietly(const Fd& socket, ByteView bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

Bytes read_to_end(const Fd& socket) {
    Bytes out;
    std::uint8_t buffer[4096];
    for (;;) {
        ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) fuzz::fail("the server hung");
        if (n <= 0) return out;
        out.insert(out.end(), buffer, buffer + n);
    }
}

void serve(SessionContext& context, const Fd& server, const SocketAddress& peer) {
    try {
        context.serve(server, peer);
    } catch (const std::exception&) {
        // The Server logs and closes after an exception: an allowed ending.
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Harness harness;
    if (size < 2) return 0;
    unsigned flags = data[0] & 3u;
    std::uint32_t split_state = data[1] * 2654435761u + 1;
    ByteView stream(data + 2, std::min(size - 2, kMaxStream));
    SessionContext& context = *harness.contexts[flags];
    const SocketAddress peer = harness.peer;  // a copy: the thread below captures it

    // 1. Coalesced: everything is in the socket before the server reads.
    Bytes whole_answer;
    {
        auto [client, server] = socket_pair();
        send_quietly(client, stream);
        ::shutdown(client.get(), SHUT_WR);
        serve(context, server, peer);
        server = Fd();
        whole_answer = read_to_end(client);
    }

    // 2. Split: chunks of 1-16 bytes, while the server reads in its own thread.
    Bytes split_answer;
    {
        auto pair = socket_pair();
        const Fd& client = pair.first;
        Fd server = std::move(pair.second);
        std::thread session([&context, &server, &peer] {
            serve(context, server, peer);
            server = Fd();
        });
        for (std::size_t at = 0; at < stream.size();) {
            split_state ^= split_state << 13;
            split_state ^= split_state >> 17;
            split_state ^= split_state << 5;
            std::size_t chunk = std::min<std::size_t>(1 + split_state % 16, stream.size() - at);
            send_quietly(client, stream.subspan(at, chunk));
            at += chunk;
        }
        ::shutdown(client.get(), SHUT_WR);
        split_answer = read_to_end(client);
        session.join();
    }
    require(whole_answer == split_answer,
            "the server answered differently when the same bytes arrived in pieces");
    return 0;
}
