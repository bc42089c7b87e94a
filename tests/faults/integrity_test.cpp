// Integrity: 1 GiB through each of CONNECT, BIND and UDP ASSOCIATE (512 MiB
// each way), every byte checked against a known pseudo-random pattern: on TCP
// nothing may be lost, changed or reordered; on UDP every datagram comes back
// intact (a lost one is sent again and counted).
// SOCKS_FAULTS_INTEGRITY_MIB changes the total (default 1024).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "helpers.hpp"

namespace socks::faults {
namespace {

std::uint64_t total_bytes() {
    const char* mib = std::getenv("SOCKS_FAULTS_INTEGRITY_MIB");
    return (mib ? std::strtoull(mib, nullptr, 10) : 1024ull) * 1024 * 1024;
}

// splitmix64: byte p of a stream is byte p % 8 of mix(seed + p / 8).
std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t offset) {
    return static_cast<std::uint8_t>(mix(seed + offset / 8) >> (8 * (offset % 8)));
}

void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::uint8_t* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        out[i] = pattern_byte(seed, offset + i);
}

// Checks a stream as it arrives, in whatever pieces.
struct Checker {
    std::uint64_t seed;
    std::uint64_t offset = 0;
    std::uint64_t first_bad = UINT64_MAX;
    std::uint64_t word_index = UINT64_MAX;
    std::uint64_t word = 0;

    void feed(const std::uint8_t* data, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i, ++offset) {
            if (offset / 8 != word_index) {
                word_index = offset / 8;
                word = mix(seed + word_index);
            }
            auto expected = static_cast<std::uint8_t>(word >> (8 * (offset % 8)));
            if (data[i] != expected && first_bad == UINT64_MAX) first_bad = offset;
        }
    }
};

struct Direction {
    std::uint64_t sent = 0, received = 0, first_bad = UINT64_MAX;
    std::string error;
};

// Writes `total` pattern bytes on `from` then shuts its write side; reads and
// checks everything on `to` until EOF.
void write_stream(const Fd& from, std::uint64_t seed, std::uint64_t total, Direction& d) {
    std::vector<std::uint8_t> block(256 * 1024);
    try {
        while (d.sent < total) {
            std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), total - d.sent));
            fill_pattern(seed, d.sent, block.data(), n);
            write_all(from, ByteView(block.data(), n));
            d.sent += n;
        }
        ::shutdown(from.get(), SHUT_WR);
    } catch (const std::exception& error) {
        d.error += std::string("write: ") + error.what();
    }
}

void read_stream(const Fd& to, std::uint64_t seed, Direction& d) {
    Checker checker{seed};
    std::vector<std::uint8_t> buffer(256 * 1024);
    try {
        while (std::size_t n = read_some(to, buffer)) {
            checker.feed(buffer.data(), n);
        }
    } catch (const std::exception& error) {
        d.error += std::string("read: ") + error.what();
    }
    d.received = checker.offset;
    d.first_bad = checker.first_bad;
}

// Half of `total` each way between `left` and `right`, at the same time.
testing::AssertionResult both_ways(const Fd& left, const Fd& right, std::uint64_t total,
                                   const char* what) {
    const std::uint64_t each = total / 2;
    set_receive_timeout(left, 30s);
    set_receive_timeout(right, 30s);
    Direction up, down;
    auto start = Clock::now();
    std::thread up_writer([&] { write_stream(left, 0x1111, each, up); });
    std::thread down_writer([&] { write_stream(right, 0x2222, each, down); });
    std::thread up_reader([&] { read_stream(right, 0x1111, up); });
    read_stream(left, 0x2222, down);
    up_reader.join();
    up_writer.join();
    down_writer.join();
    auto elapsed = since(start);
    std::printf("[ figures ] integrity %s: %llu + %llu bytes verified in %lld ms\n", what,
                static_cast<unsigned long long>(up.received),
                static_cast<unsigned long long>(down.received),
                static_cast<long long>(elapsed.count()));
    for (auto* d : {&up, &down}) {
        const char* name = d == &up ? "client->peer" : "peer->client";
        if (!d->error.empty())
            return testing::AssertionFailure() << what << " " << name << ": " << d->error;
        if (d->received != each) {
            return testing::AssertionFailure()
                   << what << " " << name << ": received " << d->received << " of " << each;
        }
        if (d->first_bad != UINT64_MAX) {
            return testing::AssertionFailure()
                   << what << " " << name << ": first wrong byte at offset " << d->first_bad;
        }
    }
    return testing::AssertionSuccess();
}

TEST(FaultsIntegrity, OneGibibyteThroughConnect) {
    ServerProcess proxy(kServer);
    Fd listener = listen_tcp({"127.0.0.1", 0});
    std::uint16_t port = local_address(listener).port();
    Session session = socks5(proxy.endpoint(), request_ipv4("127.0.0.1", port));
    ASSERT_EQ(session.reply, 0x00) << proxy.log();
    Fd target(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(target);
    EXPECT_TRUE(both_ways(session.socket, target, total_bytes(), "CONNECT"));
    session.socket = Fd();
    EXPECT_TRUE(proxy.wait_for_log("both sides finished", 20s)) << proxy.log();
}

TEST(FaultsIntegrity, OneGibibyteThroughBind) {
    ServerProcess proxy(kServer);
    Session session = socks5(proxy.endpoint(), request_ipv4("0.0.0.0", 0, 0x02));
    ASSERT_EQ(session.reply, 0x00) << proxy.log();
    Fd peer = test::connect_client({session.bound.host(), session.bound.port}, 30s);
    Reply second = read_reply(session.socket);
    ASSERT_EQ(second.code, 0x00) << proxy.log();
    EXPECT_EQ(second.bound.port, local_address(peer).port());
    EXPECT_TRUE(both_ways(session.socket, peer, total_bytes(), "BIND"));
}

Fd udp_socket_on_loopback() {
    Fd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        throw_errno("bind");
    int size = 1 << 20;
    ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return socket;
}

TEST(FaultsIntegrity, OneGibibyteThroughUdpAssociate) {
    constexpr std::size_t kPayload = 16 * 1024;
    constexpr std::size_t kWindow = 8;
    const std::uint64_t count = total_bytes() / 2 / kPayload;
    ServerProcess proxy(kServer);

    // The target echoes every datagram back to its sender.
    Fd echo = udp_socket_on_loopback();
    set_receive_timeout(echo, 200ms);
    const SocketAddress echo_address = local_address(echo);
    std::atomic<bool> stop{false};
    std::thread echoer([&] {
        std::vector<std::uint8_t> buffer(65536);
        while (!stop) {
            SocketAddress from;
            from.size = sizeof from.storage;
            ssize_t n = ::recvfrom(echo.get(), buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from.storage), &from.size);
            if (n > 0)
                ::sendto(echo.get(), buffer.data(), static_cast<std::size_t>(n), 0, from.get(),
                         from.size);
        }
    });

    Fd client = udp_socket_on_loopback();
    set_receive_timeout(client, 1s);
    Session control =
        socks5(proxy.endpoint(), request_ipv4("127.0.0.1", local_address(client).port(), 0x03));
    ASSERT_EQ(control.reply, 0x00) << proxy.log();
    SocketAddress relay;
    {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&relay.storage);
        v4->sin_family = AF_INET;
        std::memcpy(&v4->sin_addr, control.bound.ip.data(), 4);
        v4->sin_port = htons(control.bound.port);
        relay.size = sizeof(sockaddr_in);
    }
    Bytes header{0x00, 0x00, 0x00, 0x01};
    {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&echo_address.storage);
        std::uint32_t ip = ntohl(v4->sin_addr.s_addr);
        for (int shift = 24; shift >= 0; shift -= 8)
            header.push_back(static_cast<std::uint8_t>(ip >> shift));
        header.push_back(static_cast<std::uint8_t>(echo_address.port() >> 8));
        header.push_back(static_cast<std::uint8_t>(echo_address.port() & 0xFF));
    }

    auto send_datagram = [&](std::uint64_t seq) {
        Bytes datagram = header;
        datagram.resize(header.size() + kPayload);
        std::uint8_t* payload = datagram.data() + header.size();
        std::memcpy(payload, &seq, 8);
        fill_pattern(0x3333 + seq * 0x10000, 0, payload + 8, kPayload - 8);
        ::sendto(client.get(), datagram.data(), datagram.size(), 0, relay.get(), relay.size);
    };

    std::vector<bool> received(count, false);
    std::vector<std::uint64_t> outstanding;
    std::uint64_t next = 0, verified = 0, corrupt = 0, resent = 0, reordered = 0, highest = 0;
    std::vector<std::uint8_t> buffer(65536);
    auto start = Clock::now();
    while (verified < count && since(start) < 300s && resent < 5000) {
        while (outstanding.size() < kWindow && next < count) {
            send_datagram(next);
            outstanding.push_back(next++);
        }
        ssize_t n = ::recv(client.get(), buffer.data(), buffer.size(), 0);
        if (n < 0) {  // timeout: something was lost; send the window again
            for (std::uint64_t seq : outstanding)
                send_datagram(seq);
            resent += outstanding.size();
            continue;
        }
        // The reply header names the echo target as the source, then the data.
        if (static_cast<std::size_t>(n) != header.size() + kPayload ||
            !std::equal(header.begin() + 3, header.end(), buffer.begin() + 3)) {
            ++corrupt;
            continue;
        }
        const std::uint8_t* payload = buffer.data() + header.size();
        std::uint64_t seq;
        std::memcpy(&seq, payload, 8);
        Checker checker{0x3333 + seq * 0x10000};
        checker.feed(payload + 8, kPayload - 8);
        if (seq >= count || checker.first_bad != UINT64_MAX) {
            ++corrupt;
            continue;
        }
        if (received[seq]) continue;  // a duplicate of a resent one
        if (seq < highest) ++reordered;
        highest = std::max(highest, seq);
        received[seq] = true;
        ++verified;
        outstanding.erase(std::find(outstanding.begin(), outstanding.end(), seq));
    }
    auto elapsed = since(start);
    stop = true;
    echoer.join();
    EXPECT_EQ(corrupt, 0u);
    EXPECT_EQ(verified, count) << "resent " << resent;
    std::printf(
        "[ figures ] integrity UDP: %llu datagrams of %zu bytes each way (%llu bytes "
        "verified each way) in %lld ms; %llu resent after a loss, %llu out of order, "
        "%llu corrupt\n",
        static_cast<unsigned long long>(verified), kPayload,
        static_cast<unsigned long long>(verified * kPayload),
        static_cast<long long>(elapsed.count()), static_cast<unsigned long long>(resent),
        static_cast<unsigned long long>(reordered), static_cast<unsigned long long>(corrupt));
}

}  // namespace
}  // namespace socks::faults
