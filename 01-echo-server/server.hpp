// The thread-per-connection server loop: accept a client, hand it to a new
// thread running the chapter's handler, repeat until asked to stop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <vector>

#include "net.hpp"

namespace socks {

// Runs in the connection's own thread. The server owns `client` and closes it
// after the handler returns; exceptions are caught and logged by the server.
using ConnectionHandler = std::function<void(const Fd& client, const SocketAddress& peer)>;

// Runs `session` in a thread of its own. False when no thread could be had
// (the session is then never run). The default, start_thread() below, makes a
// new thread for every session; chapter 06 passes one that reuses threads.
using SessionLauncher = std::function<bool(std::function<void()> session)>;

// Starts a detached thread running `body`, with a stack of `stack_size` bytes
// (0: the system default). False, with errno set, when the system refused.
bool start_thread(std::function<void()> body, std::size_t stack_size = 0);

struct ServerOptions {
    // 0 keeps the system default (8 MiB of address space per thread on Linux).
    std::size_t thread_stack_size = 0;
    // On stop, how long sessions may go on before their sockets are shut down.
    std::chrono::milliseconds drain_timeout{0};
    // 0: no limit. Past it, a new client is closed at once (and logged); the
    // sessions already running are not affected.
    std::size_t max_sessions = 0;
    // Empty: start_thread(session, thread_stack_size) for every session.
    SessionLauncher launcher;
    // SO_REUSEPORT on the listening sockets (listen_tcp in net.hpp).
    bool reuse_port = false;
};

class Server {
  public:
    Server(const std::vector<Endpoint>& listen, ConnectionHandler handler,
           ServerOptions options = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The real bound addresses (port 0 resolved to the port the kernel chose).
    std::vector<SocketAddress> addresses() const;

    // Accepts until stop(); then waits until every session has ended. Call once.
    void serve();
    // Safe from any thread and from a signal handler: it only writes one byte to a pipe.
    void stop();
    std::size_t active_sessions() const;

  private:
    void start_session(Fd client, const SocketAddress& peer);
    void run_session(Fd client, SocketAddress peer);
    void end_sessions();

    std::vector<Fd> listeners_;
    Fd wake_read_, wake_write_;  // the self-pipe that stop() writes to
    ConnectionHandler handler_;
    ServerOptions options_;

    mutable std::mutex mutex_;
    std::condition_variable all_done_;
    std::set<int> sessions_;  // descriptors of live sessions, to reset on stop
    std::atomic<bool> stopping_{false};
    std::size_t threads_ = 0;
};

// In a session's thread: true once the session's server has begun to stop and
// cut its connection (with a reset). The session's next socket error is then
// expected, not a fault worth a warning.
bool stopping();

// What every chapter's main does: print "listening on HOST:PORT" (flushed at
// once), serve until SIGINT or SIGTERM, then return exit status 0.
int run_until_signalled(Server& server);

// Builds the server and runs it as above; a setup failure (say, the port is
// taken) is printed as one line on stderr and gives exit status 1.
int serve_main(const std::vector<Endpoint>& listen, ConnectionHandler handler,
               ServerOptions options = {});

}  // namespace socks
