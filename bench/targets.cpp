#include "targets.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <unordered_map>

namespace bench {

using socks::Fd;

const Pattern& Pattern::get() {
    static const Pattern pattern;
    return pattern;
}

Pattern::Pattern() : bytes_(2 * period) {
    std::uint64_t state = 0x9e3779b97f4a7c15ull;  // xorshift64: any fixed seed will do
    for (std::size_t i = 0; i < period; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes_[i] = static_cast<std::uint8_t>(state >> 24);
    }
    std::memcpy(bytes_.data() + period, bytes_.data(), period);
}

ThreadedTarget::ThreadedTarget() : listener_(socks::listen_tcp({"127.0.0.1", 0})) {
    port_ = socks::local_address(listener_).port();
}

void ThreadedTarget::start() {
    std::thread([this] {
        for (;;) {
            int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                if (errno == EMFILE || errno == ENFILE) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    continue;
                }
                return;
            }
            std::thread([this, fd] { serve(Fd(fd)); }).detach();
        }
    }).detach();
}

void SourceTarget::serve(Fd connection) {
    std::uint8_t go = 0;
    try {
        if (!socks::read_exact(connection, {&go, 1})) return;
    } catch (const std::exception&) {
        return;
    }
    const Pattern& pattern = Pattern::get();
    std::uint64_t sent = 0;
    while (sent < bytes_) {
        std::size_t chunk =
            static_cast<std::size_t>(std::min<std::uint64_t>(bytes_ - sent, 256 * 1024));
        ssize_t n = ::send(connection.get(), pattern.at(sent), chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // the client sees a short stream and reports it
        }
        sent += static_cast<std::uint64_t>(n);
    }
    ::shutdown(connection.get(), SHUT_WR);
    std::uint8_t drain[512];
    while (::recv(connection.get(), drain, sizeof drain, 0) > 0) {
    }
}

void SinkTarget::serve(Fd connection) {
    const Pattern& pattern = Pattern::get();
    std::vector<std::uint8_t> buffer(256 * 1024);
    std::uint64_t received = 0;
    while (received < bytes_) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(bytes_ - received, buffer.size()));
        ssize_t n = ::recv(connection.get(), buffer.data(), want, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            finish(false, "sink: stream ended after " + std::to_string(received) + " of " +
                              std::to_string(bytes_) + " bytes" +
                              (n < 0 ? std::string(": ") + std::strerror(errno) : ""));
            return;
        }
        if (std::memcmp(buffer.data(), pattern.at(received), static_cast<std::size_t>(n)) != 0) {
            finish(false, "sink: wrong byte within offsets " + std::to_string(received) + ".." +
                              std::to_string(received + static_cast<std::uint64_t>(n)));
            return;
        }
        received += static_cast<std::uint64_t>(n);
    }
    finish(true, "");
    // The client closes once it hears (in process) that we are done; any byte
    // beyond the stream's length would be an error.
    std::uint8_t extra;
    ssize_t n;
    do {
        n = ::recv(connection.get(), &extra, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) finish(false, "sink: bytes beyond the end of the stream");
}

void SinkTarget::finish(bool ok, const std::string& why) {
    std::lock_guard lock(mutex_);
    if (ok)
        ++completed_;
    else if (failure_.empty())
        failure_ = why;
    changed_.notify_all();
}

bool SinkTarget::wait(int streams, std::chrono::milliseconds timeout, std::string& error) {
    std::unique_lock lock(mutex_);
    bool done = changed_.wait_for(lock, timeout,
                                  [&] { return completed_ >= streams || !failure_.empty(); });
    if (!failure_.empty()) {
        error = failure_;
        return false;
    }
    if (!done) error = "sink: timed out";
    return done;
}

EchoTarget::EchoTarget() : listener_(socks::listen_tcp({"127.0.0.1", 0})) {
    port_ = socks::local_address(listener_).port();
}

void EchoTarget::start() {
    std::thread([this] { run(); }).detach();
}

void EchoTarget::run() {
    int listener = listener_.get();
    ::fcntl(listener, F_SETFL, ::fcntl(listener, F_GETFL) | O_NONBLOCK);
    Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) socks::throw_errno("epoll_create1");
    epoll_event add{EPOLLIN, {.fd = listener}};
    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, listener, &add);
    // Bytes a client sent that its socket could not take back yet; while some
    // wait, that connection is not read (back-pressure).
    std::unordered_map<int, std::string> pending;
    std::vector<std::uint8_t> buffer(64 * 1024);
    epoll_event events[256];
    auto close_connection = [&](int fd) {
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
        pending.erase(fd);
        Fd closing(fd);
    };
    for (;;) {
        int ready = ::epoll_wait(epoll.get(), events, 256, -1);
        for (int i = 0; i < ready; ++i) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                for (;;) {
                    int client =
                        ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (client < 0) break;
                    int one = 1;
                    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event watch{EPOLLIN, {.fd = client}};
                    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, client, &watch);
                }
                continue;
            }
            auto waiting = pending.find(fd);
            if (waiting != pending.end()) {
                std::string& rest = waiting->second;
                ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN) {
                    close_connection(fd);
                    continue;
                }
                if (n > 0) rest.erase(0, static_cast<std::size_t>(n));
                if (rest.empty()) {
                    pending.erase(waiting);
                    epoll_event watch{EPOLLIN, {.fd = fd}};
                    ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &watch);
                }
                continue;
            }
            ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EAGAIN) continue;
            if (n <= 0) {
                close_connection(fd);
                continue;
            }
            auto size = static_cast<std::size_t>(n);
            ssize_t sent = ::send(fd, buffer.data(), size, MSG_NOSIGNAL);
            if (sent < 0 && errno != EAGAIN) {
                close_connection(fd);
                continue;
            }
            std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
            if (done < size) {
                pending[fd].assign(reinterpret_cast<const char*>(buffer.data()) + done,
                                   size - done);
                epoll_event watch{EPOLLOUT, {.fd = fd}};
                ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, fd, &watch);
            }
        }
    }
}

}  // namespace bench
