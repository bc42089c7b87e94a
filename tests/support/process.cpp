#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace socks::test {

std::string program_path(const std::string& relative) {
    return std::string(SOCKS_BUILD_DIR) + "/" + relative;
}

namespace {

struct Pipe {
    Fd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) throw_errno("pipe2");
    return {Fd(fds[0]), Fd(fds[1])};
}

// fork + exec with the given pipes as stdin/stdout/stderr (-1: /dev/null).
pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err) {
    std::vector<char*> args;
    for (const std::string& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(in >= 0 ? in : null, 0);
        ::dup2(out >= 0 ? out : null, 1);
        ::dup2(err >= 0 ? err : null, 2);
        ::setpgid(0, 0);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    return pid;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// waitpid with a deadline, by polling a pidfd (no sleeping).
bool wait_with_timeout(pid_t pid, std::chrono::milliseconds timeout, int& status) {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
        Fd owner(pidfd);
        pollfd p{pidfd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    }
    return ::waitpid(pid, &status, 0) == pid;
}

}  // namespace

ServerProcess::ServerProcess(const std::string& program, std::vector<std::string> args) {
    bool has_listen = false;
    for (const std::string& arg : args)
        has_listen |= arg.starts_with("--listen");
    std::vector<std::string> argv{program_path(program)};
    if (!has_listen) argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    argv.insert(argv.end(), args.begin(), args.end());

    Pipe out = make_pipe(), err = make_pipe();
    pid_ = spawn(argv, -1, out.write.get(), err.write.get());
    stdout_ = std::move(out.read);
    stderr_ = std::move(err.read);
    stderr_reader_ = std::thread([this] {
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(stderr_.get(), buffer, sizeof buffer)) > 0) {
            std::lock_guard lock(mutex_);
            log_.append(buffer, static_cast<std::size_t>(n));
            log_grew_.notify_all();
        }
    });

    // Read the "listening on" lines: one per --listen, all before serving starts.
    std::size_t listens = 0;
    for (const std::string& arg : argv)
        listens += arg == "--listen";
    std::string seen;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (endpoints_.size() < std::max<std::size_t>(listens, 1)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{stdout_.get(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char c;
        if (::read(stdout_.get(), &c, 1) != 1) break;
        if (c != '\n') {
            seen += c;
            continue;
        }
        const std::string prefix = "listening on ";
        if (seen.starts_with(prefix)) {
            if (auto endpoint = parse_endpoint(seen.substr(prefix.size()))) {
                endpoints_.push_back(*endpoint);
            }
        }
        seen.clear();
    }
    if (endpoints_.empty()) {
        stop(SIGKILL);
        throw std::runtime_error(program + " did not print 'listening on HOST:PORT'; stderr:\n" +
                                 log());
    }
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0 && exit_status_ < 0) stop(SIGKILL);
    if (stderr_reader_.joinable()) stderr_reader_.join();
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
    if (exit_status_ >= 0) return exit_status_;
    ::kill(pid_, signal);
    int status = 0;
    if (!wait_with_timeout(pid_, timeout, status)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        exit_status_ = 128 + SIGKILL;
        return -1;
    }
    exit_status_ = decode_status(status);
    if (stderr_reader_.joinable()) stderr_reader_.join();
    return exit_status_;
}

bool ServerProcess::running() {
    if (exit_status_ >= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_status_ = decode_status(status);
        return false;
    }
    return true;
}

std::string ServerProcess::log() const {
    std::lock_guard lock(mutex_);
    return log_;
}

static int count_occurrences(const std::string& text, std::string_view needle) {
    int count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

bool ServerProcess::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout,
                                 int count) const {
    std::unique_lock lock(mutex_);
    if (log_grew_.wait_for(lock, timeout, [&] { return count_occurrences(log_, needle) >= count; }))
        return true;
    // The test fails on this: say what it waited for and what the program did log.
    std::fprintf(stderr,
                 "wait_for_log: waited %lld ms for %d log line(s) containing \"%.*s\"; the "
                 "program's log (stderr) was:\n%s--- end of log\n",
                 static_cast<long long>(timeout.count()), count, static_cast<int>(needle.size()),
                 needle.data(), log_.c_str());
    return false;
}

int ServerProcess::open_descriptors() const {
    std::string path = "/proc/" + std::to_string(pid_) + "/fd";
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return -1;
    int count = 0;
    while (dirent* entry = ::readdir(dir))
        count += entry->d_name[0] != '.';
    ::closedir(dir);
    return count;
}

int ServerProcess::threads() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("Threads:")) return std::stoi(line.substr(8));
    }
    return -1;
}

CommandResult run_command(const std::vector<std::string>& argv, std::string_view input,
                          std::chrono::milliseconds timeout) {
    Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
    pid_t pid = spawn(argv, in.read.get(), out.write.get(), err.write.get());
    in.read = Fd();
    out.write = Fd();
    err.write = Fd();
    ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);
    if (input.empty()) in.write = Fd();

    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t written = 0;
    while (out.read || err.read) {
        std::vector<pollfd> fds;
        if (out.read) fds.push_back({out.read.get(), POLLIN, 0});
        if (err.read) fds.push_back({err.read.get(), POLLIN, 0});
        if (in.write) fds.push_back({in.write.get(), POLLOUT, 0});
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 ||
            ::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) {
            result.timed_out = true;
            ::kill(-pid, SIGKILL);
            ::kill(pid, SIGKILL);
            break;
        }
        for (const pollfd& p : fds) {
            if (p.revents == 0) continue;
            if (in.write && p.fd == in.write.get()) {
                ssize_t n = ::write(p.fd, input.data() + written, input.size() - written);
                if (n > 0) written += static_cast<std::size_t>(n);
                if (n < 0 || written == input.size()) in.write = Fd();
                continue;
            }
            char buffer[65536];
            ssize_t n = ::read(p.fd, buffer, sizeof buffer);
            bool is_out = out.read && p.fd == out.read.get();
            if (n <= 0) {
                (is_out ? out.read : err.read) = Fd();
                continue;
            }
            (is_out ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
        }
    }
    int status = 0;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!wait_with_timeout(pid, std::max(left, std::chrono::milliseconds(1000)), status)) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        result.timed_out = true;
    }
    result.exit_code = result.timed_out ? -1 : decode_status(status);
    return result;
}

bool have_program(const std::string& name) {
    return run_command({"sh", "-c", "command -v " + name}, {}, 10s).exit_code == 0;
}

Fd connect_client(const Endpoint& server, std::chrono::milliseconds timeout) {
    Fd fd = connect_tcp(server);
    set_receive_timeout(fd, timeout);
    set_send_timeout(fd, timeout);
    return fd;
}

}  // namespace socks::test
