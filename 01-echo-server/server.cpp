#include "server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "log.hpp"

namespace socks {

Server::Server(const std::vector<Endpoint>& listen, ConnectionHandler handler,
               ServerOptions options)
    : handler_(std::move(handler)), options_(options) {
    for (const Endpoint& endpoint : listen)
        listeners_.push_back(listen_tcp(endpoint, SOMAXCONN, options_.reuse_port));
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0) throw_errno("pipe2");
    wake_read_ = Fd(pipe_fds[0]);
    wake_write_ = Fd(pipe_fds[1]);
}

Server::~Server() {
    // serve() normally waited already; this covers a server that never served.
    std::unique_lock lock(mutex_);
    for (int fd : sessions_)
        abort_connection(fd);
    all_done_.wait(lock, [this] { return threads_ == 0; });
}

std::vector<SocketAddress> Server::addresses() const {
    std::vector<SocketAddress> result;
    for (const Fd& listener : listeners_)
        result.push_back(local_address(listener));
    return result;
}

void Server::stop() {
    char byte = 1;
    [[maybe_unused]] ssize_t ignored = ::write(wake_write_.get(), &byte, 1);
}

std::size_t Server::active_sessions() const {
    std::lock_guard lock(mutex_);
    return threads_;
}

static bool is_out_of_resources(int error) {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

void Server::serve() {
    std::vector<pollfd> fds;
    for (const Fd& listener : listeners_)
        fds.push_back({listener.get(), POLLIN, 0});
    fds.push_back({wake_read_.get(), POLLIN, 0});
    int backoff_ms = -1;  // poll forever, unless accept ran out of descriptors
    bool out_of_descriptors = false;

    for (;;) {
        int ready = ::poll(fds.data(), fds.size(), backoff_ms);
        if (ready < 0 && errno != EINTR) throw_errno("poll");
        if (fds.back().revents != 0) break;  // stop() was called
        backoff_ms = -1;
        for (std::size_t i = 0; i + 1 < fds.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) continue;
            SocketAddress peer;
            peer.size = sizeof peer.storage;
            int fd = ::accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer.storage), &peer.size,
                               SOCK_CLOEXEC);
            if (fd >= 0) {
                if (out_of_descriptors) log_info("accepting again");
                out_of_descriptors = false;
                start_session(Fd(fd), peer);
            } else if (is_out_of_resources(errno)) {
                // Out of descriptors: the pending client stays in the backlog, so
                // polling again at once would spin. Wait a little (or for stop()).
                if (!out_of_descriptors) {  // one line per episode, not ten a second
                    log_warn(std::string("accept: ") + std::strerror(errno) +
                             "; retrying every 100 ms");
                }
                out_of_descriptors = true;
                backoff_ms = 100;
                fds[i].revents = 0;
            } else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
                log_error(std::string("accept: ") + std::strerror(errno));
            }
        }
        if (backoff_ms > 0) {
            // Listen only to the wake pipe while backing off.
            pollfd wake{wake_read_.get(), POLLIN, 0};
            if (::poll(&wake, 1, backoff_ms) > 0) break;
        }
    }
    listeners_.clear();  // refuse new clients from now on
    end_sessions();
}

void Server::end_sessions() {
    std::unique_lock lock(mutex_);
    if (options_.drain_timeout.count() > 0) {
        all_done_.wait_for(lock, options_.drain_timeout, [this] { return threads_ == 0; });
    }
    // Cutting every session still running: a reset (not a FIN) wakes its
    // blocking calls, and tells its client the transfer was cut, not complete.
    stopping_ = true;
    for (int fd : sessions_)
        abort_connection(fd);
    all_done_.wait(lock, [this] { return threads_ == 0; });
}

namespace {
void* thread_main(void* raw) {
    std::unique_ptr<std::function<void()>> body(static_cast<std::function<void()>*>(raw));
    (*body)();
    return nullptr;
}
}  // namespace

bool start_thread(std::function<void()> body, std::size_t stack_size) {
    auto owned = std::make_unique<std::function<void()>>(std::move(body));
    // std::thread cannot choose its stack size, and chapter 06 needs to.
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack_size > 0) ::pthread_attr_setstacksize(&attr, stack_size);
    pthread_t thread;
    int error = ::pthread_create(&thread, &attr, thread_main, owned.get());
    ::pthread_attr_destroy(&attr);
    if (error != 0) {
        errno = error;
        return false;
    }
    owned.release();  // the thread owns it now
    return true;
}

void Server::start_session(Fd client, const SocketAddress& peer) {
    {
        std::lock_guard lock(mutex_);
        if (options_.max_sessions > 0 && threads_ >= options_.max_sessions) {
            log_warn(peer.to_string() + ": refused: the maximum of " +
                     std::to_string(options_.max_sessions) + " sessions is reached");
            return;  // `client` closes here: the client sees the connection end
        }
        sessions_.insert(client.get());
        ++threads_;
    }
    // A std::function must be copyable, and Fd is not: the session takes the
    // bare descriptor and wraps it again in its own thread.
    int fd = client.release();
    auto session = [this, fd, peer] { run_session(Fd(fd), peer); };
    bool started = options_.launcher ? options_.launcher(session)
                                     : start_thread(session, options_.thread_stack_size);
    if (started) return;
    log_error(std::string("no thread for ") + peer.to_string() + ": " + std::strerror(errno) +
              "; closing it");
    std::lock_guard lock(mutex_);
    sessions_.erase(fd);
    Fd{fd};  // closes it, under the lock as in run_session
    --threads_;
    all_done_.notify_all();
}

namespace {
thread_local const std::atomic<bool>* t_stopping = nullptr;  // the session's server's flag
}  // namespace

bool stopping() {
    return t_stopping != nullptr && *t_stopping;
}

void Server::run_session(Fd client, SocketAddress peer) {
    t_stopping = &stopping_;
    try {
        handler_(client, peer);
    } catch (const std::exception& error) {
        if (stopping()) {
            log_info(peer.to_string() + ": cut by the server's stop (" + error.what() + ")");
        } else {
            log_warn(peer.to_string() + ": " + error.what());
        }
    }
    t_stopping = nullptr;  // a pool may run another server's session in this thread
    std::lock_guard lock(mutex_);
    sessions_.erase(client.get());
    client = Fd();  // close while holding the lock: stop() never shuts down a reused number
    --threads_;
    all_done_.notify_all();
}

namespace {
Server* g_server = nullptr;

// A signal handler may only do async-signal-safe work; stop() is one write(2).
extern "C" void on_stop_signal(int) {
    int saved = errno;
    if (g_server != nullptr) g_server->stop();
    errno = saved;
}
}  // namespace

int run_until_signalled(Server& server) {
    // A vanished peer must give EPIPE, never kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    g_server = &server;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    ::sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);

    for (const SocketAddress& address : server.addresses()) {
        std::printf("listening on %s\n", address.to_string().c_str());
    }
    std::fflush(stdout);

    server.serve();
    log_info("stopped");
    return 0;
}

int serve_main(const std::vector<Endpoint>& listen, ConnectionHandler handler,
               ServerOptions options) {
    try {
        Server server(listen, std::move(handler), options);
        return run_until_signalled(server);
    } catch (const std::exception& error) {
        log_error(error.what());
        return 1;
    }
}

}  // namespace socks
