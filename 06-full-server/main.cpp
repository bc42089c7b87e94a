// socks5-server: chapter 06's program, the proxy people deploy.
// `socks5-server --help` lists every option; docs/06-full-server.md explains them.
#include "config.hpp"
#include "log.hpp"
#include "server.hpp"
#include "session.hpp"
#include "thread_pool.hpp"

int main(int argc, char** argv) {
    auto parsed = socks::parse_config(argc, argv);
    if (auto* status = std::get_if<int>(&parsed)) return *status;
    socks::Config& config = std::get<socks::Config>(parsed);
    socks::set_log_level(config.log_level);

    socks::SessionContext sessions(config);
    socks::ServerOptions options;
    options.thread_stack_size = config.thread_stack_kib * 1024;
    // Destroyed after serve_main returns, when every session has ended.
    socks::ThreadPool threads(
        {.max_spare = config.spare_threads, .stack_size = options.thread_stack_size});
    options.launcher = [&threads](std::function<void()> session) {
        return threads.run(std::move(session));
    };
    options.max_sessions = config.max_connections;
    options.drain_timeout = config.shutdown_grace;
    options.reuse_port = config.reuse_port;
    // serve_main(), with one step between listening and serving: the session
    // code must know the real listening addresses to refuse loops to itself.
    try {
        socks::Server server(
            config.listen,
            [&sessions](const socks::Fd& client, const socks::SocketAddress& peer) {
                sessions.serve(client, peer);
            },
            options);
        config.listening = server.addresses();
        return socks::run_until_signalled(server);
    } catch (const std::exception& error) {
        socks::log_error(error.what());
        return 1;
    }
}
