// Row "OpenSSH client": ssh -o ProxyCommand='nc -X 5 -x PROXY %h %p' to a
// local sshd, running a command and returning its output. sshd runs in inetd
// mode (sshd -i), started by a test target for each connection, with a
// throwaway host key, client key and config in a temporary directory: no
// daemon, no port of its own, nothing left behind. Runs in the loopback-only
// namespace (interop_browser_tests).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "interop.hpp"

namespace socks::interop {
namespace {

// Runs `argv` with `connection` as its stdin and stdout, stderr appended to
// `log_file`; waits for it at most `timeout`, then kills it.
void run_on_connection(const std::vector<std::string>& argv, const Fd& connection,
                       const std::string& log_file, std::chrono::milliseconds timeout) {
    std::vector<char*> args;
    for (const std::string& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {  // only async-signal-safe calls until exec
        int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        ::dup2(connection.get(), 0);
        ::dup2(connection.get(), 1);
        if (log >= 0) ::dup2(log, 2);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    Fd owner(pidfd);
    pollfd p{pidfd, POLLIN, 0};
    if (pidfd < 0 || ::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
}

class OpenSsh : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(installed("ssh", "openssh-client"));
        ASSERT_TRUE(installed("ssh-keygen", "openssh-client"));
        ASSERT_TRUE(std::filesystem::exists("/usr/sbin/sshd"))
            << "sshd is required: apt-get install openssh-server";
        ASSERT_TRUE(installed("nc.openbsd", "netcat-openbsd"));
        record_version("openssh-client", {"ssh", "-V"});
        record_version("openssh-server");
        // sshd insists on its privilege-separation directory (normally made by
        // systemd at boot; a container has none).
        if (!std::filesystem::exists("/run/sshd")) {
            std::filesystem::create_directories("/run/sshd");
            std::filesystem::permissions("/run/sshd", std::filesystem::perms(0755));
        }
        for (const char* key : {"host_key", "client_key"}) {
            auto made = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "interop", "-f",
                             dir.path() + "/" + key},
                            {}, {}, 20s);
            ASSERT_EQ(made.exit_code, 0) << show(made);
        }
        std::filesystem::copy_file(dir.path() + "/client_key.pub", dir.path() + "/authorized_keys");
        dir.write("sshd_config", "HostKey " + dir.path() +
                                     "/host_key\n"
                                     "AuthorizedKeysFile " +
                                     dir.path() +
                                     "/authorized_keys\n"
                                     "PermitRootLogin prohibit-password\n"
                                     "PasswordAuthentication no\n"
                                     "KbdInteractiveAuthentication no\n"
                                     "UsePAM no\n"
                                     "StrictModes no\n"
                                     "UseDNS no\n"
                                     "PidFile none\n"
                                     "LogLevel VERBOSE\n");
    }
    TempDir dir{"socks5-ssh"};
    const std::string config = dir.path() + "/sshd_config";  // written by SetUp
    // One sshd -i per connection to this target.
    test::BackgroundServer sshd{[this](const Fd& connection, const SocketAddress&) {
        run_on_connection({"/usr/sbin/sshd", "-i", "-e", "-f", config}, connection,
                          dir.path() + "/sshd.log", 60s);
    }};
    std::string sshd_log() const {
        auto result = test::run_command({"cat", dir.path() + "/sshd.log"}, {}, 10s);
        return result.out;
    }
};

TEST_F(OpenSsh, RunsACommandThroughNcProxyCommand) {
    // sshd.test is known only to the server (--map): neither ssh (which never
    // resolves a ProxyCommand host) nor nc (which sends the name) looks it up.
    ServerProcess proxy(kServer, {"--map", "sshd.test=127.0.0.1"});
    std::string input = random_text(256 * 1024, 23);
    std::string port = std::to_string(sshd.port());
    auto result = run({"ssh",
                       "-F",
                       "/dev/null",
                       "-i",
                       dir.path() + "/client_key",
                       "-o",
                       "IdentitiesOnly=yes",
                       "-o",
                       "BatchMode=yes",
                       "-o",
                       "StrictHostKeyChecking=no",
                       "-o",
                       "UserKnownHostsFile=/dev/null",
                       "-o",
                       "GlobalKnownHostsFile=/dev/null",
                       "-o",
                       "LogLevel=ERROR",
                       "-o",
                       "ConnectTimeout=10",
                       "-o",
                       "ProxyCommand=nc.openbsd -X 5 -x " + proxy.proxy() + " %h %p",
                       "-p",
                       port,
                       current_user() + "@sshd.test",
                       "echo ssh says $((6 * 7)); wc -c"},
                      {}, input, 60s);
    EXPECT_EQ(result.exit_code, 0) << show(result) << "\nsshd log:\n" << sshd_log();
    // The command's output, and every byte of our input counted on the far side.
    EXPECT_EQ(result.out, "ssh says 42\n" + std::to_string(input.size()) + "\n")
        << show(result) << "\nsshd log:\n"
        << sshd_log();
    Access line;
    EXPECT_TRUE(logged(
        proxy,
        {{"proto", "socks5"}, {"cmd", "CONNECT"}, {"target", "sshd.test:" + port}, {"reply", "00"}},
        &line));
    EXPECT_GT(std::stoull(line["up"]), input.size()) << line.line;
}

}  // namespace
}  // namespace socks::interop
