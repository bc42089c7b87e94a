// The command line and the users file, parsed in-process: what each flag
// sets, and which values are refused before anything starts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <stdexcept>

#include "config.hpp"
#include "helpers.hpp"

namespace socks {
namespace {

using ch06::TempFile;

// parse_config over a vector of words ("socks5-server" is added in front).
std::variant<Config, int> parse(std::vector<std::string> words) {
    words.insert(words.begin(), "socks5-server");
    std::vector<char*> argv;
    for (std::string& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    return parse_config(static_cast<int>(words.size()), argv.data());
}

TEST(UsersFile, ReadsAccountsSkippingCommentsAndBlankLines) {
    TempFile file(
        "# accounts for the lab\n"
        "\n"
        "alice:secret\n"
        "   # an indented comment\n"
        "bob:\n"
        "carol:pass:with:colons\r\n");
    Users users;
    load_users_file(file.path(), users);
    EXPECT_EQ(users.size(), 3u);
    EXPECT_TRUE(users.check({"alice", "secret"}));
    EXPECT_TRUE(users.check({"bob", ""}));
    EXPECT_TRUE(users.check({"carol", "pass:with:colons"})) << "the \\r of a CRLF line is no part";
    EXPECT_FALSE(users.check({"alice", "wrong"}));
    EXPECT_FALSE(users.check({"# accounts for the lab", ""}));
}

TEST(UsersFile, AMalformedLineIsNamedByFileAndLine) {
    for (const char* bad : {"no-colon-here", ":password-but-no-name"}) {
        TempFile file(std::string("alice:secret\n# comment\n") + bad + "\nbob:pw\n");
        Users users;
        try {
            load_users_file(file.path(), users);
            ADD_FAILURE() << "'" << bad << "' was accepted";
        } catch (const std::invalid_argument& error) {
            EXPECT_NE(std::string(error.what()).find(file.path() + ":3"), std::string::npos)
                << error.what();
        }
    }
    Users users;
    EXPECT_THROW(load_users_file("/nonexistent/ch06-users", users), std::invalid_argument);
}

// "what" of the error load_users_file throws, or "" when it accepted the file.
std::string users_file_error(const std::string& path) {
    Users users;
    try {
        load_users_file(path, users);
    } catch (const std::invalid_argument& error) {
        return error.what();
    }
    return "";
}

// A users file that yields no account must not start a server without
// authentication: every such file is a startup error naming the file.
TEST(UsersFile, NoAccountsIsAnErrorNotAnOpenServer) {
    for (const char* text : {"", "# only a comment\n\n   # another\n", "\n\n"}) {
        TempFile file(text);
        std::string error = users_file_error(file.path());
        EXPECT_NE(error.find(file.path()), std::string::npos) << "'" << text << "': " << error;
        EXPECT_NE(error.find("no accounts"), std::string::npos) << error;
        EXPECT_EQ(std::get<int>(parse({"--users-file", file.path()})), 2);
    }
    std::string directory = testing::TempDir();
    EXPECT_NE(users_file_error(directory).find("not a regular file"), std::string::npos);
    EXPECT_EQ(std::get<int>(parse({"--users-file", directory})), 2);
}

TEST(UsersFile, ADuplicateNameIsNamedByFileAndLine) {
    TempFile file("alice:one\nbob:x\nalice:two\n");
    std::string error = users_file_error(file.path());
    EXPECT_NE(error.find(file.path() + ":3"), std::string::npos) << error;
    EXPECT_NE(error.find("alice"), std::string::npos) << error;
}

// Anyone on the machine could add an account to a world-writable file: refused.
TEST(UsersFile, AWorldWritableFileIsRefused) {
    TempFile file("alice:secret\n");
    ASSERT_EQ(::chmod(file.path().c_str(), 0666), 0);
    std::string error = users_file_error(file.path());
    EXPECT_NE(error.find("writable by every user"), std::string::npos) << error;
    ASSERT_EQ(::chmod(file.path().c_str(), 0640), 0);
    EXPECT_EQ(users_file_error(file.path()), "");
}

// A BOM (Windows editors write one) and spaces around a line are not part of
// the name or the password.
TEST(UsersFile, ABomAndSurroundingSpacesAreNoPartOfTheAccount) {
    TempFile file(
        "\xEF\xBB\xBF"
        "alice:secret  \n"
        "  \tbob:pw\r\n");
    Users users;
    load_users_file(file.path(), users);
    EXPECT_TRUE(users.check({"alice", "secret"}));
    EXPECT_TRUE(users.check({"bob", "pw"}));
    EXPECT_FALSE(
        users.check({"\xEF\xBB\xBF"
                     "alice",
                     "secret"}));
}

TEST(ParseConfig, EveryFlagSetsItsField) {
    TempFile users_file("dave:pw\n");
    auto parsed = parse({"--listen",
                         "127.0.0.1:0",
                         "--listen",
                         "[::1]:0",
                         "--user",
                         "alice:secret",
                         "--users-file",
                         users_file.path(),
                         "--allow",
                         "port=80",
                         "--deny",
                         "all",
                         "--outgoing-address",
                         "127.0.0.2",
                         "--outgoing-address",
                         "::1",
                         "--map",
                         "Web.Test.=127.0.0.1",
                         "--map",
                         "web.test=::1",
                         "--max-connections",
                         "7",
                         "--handshake-timeout",
                         "1.5",
                         "--idle-timeout",
                         "2",
                         "--connect-timeout",
                         "0.25",
                         "--shutdown-grace",
                         "3",
                         "--thread-stack",
                         "128",
                         "--log-level",
                         "warn",
                         "--trace",
                         "--allow-open-proxy"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed)) << "exit " << std::get<int>(parsed);
    const Config& config = std::get<Config>(parsed);
    ASSERT_EQ(config.listen.size(), 2u) << "--listen replaces the default, then adds";
    EXPECT_EQ(config.listen[0].host, "127.0.0.1");
    EXPECT_EQ(config.listen[1].host, "::1");
    EXPECT_EQ(config.users.size(), 2u);
    EXPECT_TRUE(config.users.check({"dave", "pw"}));
    EXPECT_TRUE(config.rules.has_allow_rule());
    ASSERT_EQ(config.outgoing.size(), 2u);
    EXPECT_EQ(config.outgoing[0].host(), "127.0.0.2");
    ASSERT_EQ(config.hosts.count("web.test"), 1u) << "--map names are normalised";
    EXPECT_EQ(config.hosts.at("web.test").size(), 2u);
    EXPECT_EQ(config.max_connections, 7u);
    EXPECT_EQ(config.handshake_timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(config.idle_timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(config.connect_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(config.shutdown_grace, std::chrono::milliseconds(3000));
    EXPECT_EQ(config.thread_stack_kib, 128u);
    EXPECT_EQ(config.log_level, LogLevel::Warn);
    EXPECT_TRUE(config.trace);
    EXPECT_TRUE(config.allow_open_proxy);
}

TEST(ParseConfig, DefaultsAreSafe) {
    auto parsed = parse({});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const Config& config = std::get<Config>(parsed);
    ASSERT_EQ(config.listen.size(), 1u);
    EXPECT_EQ(to_string(config.listen[0]), "127.0.0.1:1080");
    EXPECT_TRUE(config.users.empty());
    EXPECT_TRUE(config.rules.empty());
    EXPECT_GT(config.handshake_timeout.count(), 0) << "a handshake must never wait forever";
    EXPECT_GT(config.max_connections, 0u);
    EXPECT_FALSE(config.trace);
    EXPECT_FALSE(config.allow_open_proxy);
    // A silent session does not hold its slot forever, a vanished peer is found.
    EXPECT_EQ(config.idle_timeout, std::chrono::minutes(10));
    EXPECT_EQ(config.keepalive, std::chrono::seconds(60));
}

// Any --allow rule without a narrower from= lets anyone in, as no rule does:
// on a reachable address that is an open proxy, refused without consent.
TEST(ParseConfig, EveryAllowRuleThatLetsAnyoneInNeedsConsentOnAReachableAddress) {
    for (std::vector<std::string> open : std::vector<std::vector<std::string>>{
             {},
             {"--allow", "all"},
             {"--allow", "to=10.0.0.0/8"},
             {"--allow", "from=0.0.0.0/0"},
             {"--allow", "from=10.0.0.0/8", "--allow", "port=443"},
         }) {
        std::vector<std::string> words{"--listen", "0.0.0.0:0"};
        words.insert(words.end(), open.begin(), open.end());
        auto refused = parse(words);
        ASSERT_TRUE(std::holds_alternative<int>(refused)) << words.size();
        EXPECT_EQ(std::get<int>(refused), 2);
        words.push_back("--allow-open-proxy");
        EXPECT_TRUE(std::holds_alternative<Config>(parse(words)));
    }
    EXPECT_TRUE(std::holds_alternative<Config>(
        parse({"--listen", "0.0.0.0:0", "--allow", "from=10.0.0.0/8 port=443"})));
}

TEST(ParseConfig, BadValuesExitWithStatus2) {
    const std::vector<std::vector<std::string>> bad = {
        {"--max-connections", "many"},
        {"--max-connections", "-1"},
        {"--max-connections", "5x"},
        {"--max-connections", ""},
        {"--handshake-timeout", "-1"},
        {"--handshake-timeout", "nan"},
        {"--handshake-timeout", "1s"},
        {"--idle-timeout", "inf"},
        {"--connect-timeout", "soon"},
        {"--shutdown-grace", ""},
        {"--thread-stack", "16"},
        {"--thread-stack", "-1"},
        {"--log-level", "loud"},
        {"--allow", "port=99999"},
        {"--deny", "cmd=ping"},
        {"--outgoing-address", "localhost"},
        {"--map", "no-address"},
        {"--map", "=127.0.0.1"},
        {"--map", "x.test=nowhere"},
        {"--user", "nocolon"},
        {"--listen", "nowhere"},
        {"--users-file", "/nonexistent/ch06"},
        {"--frobnicate"},
        {"--max-connections"},
        {"--outgoing-address", "127.0.0.1", "--outgoing-address", "127.0.0.2"},
    };
    for (const auto& words : bad) {
        auto parsed = parse(words);
        std::string shown;
        for (const std::string& word : words)
            shown += word + " ";
        if (!std::holds_alternative<int>(parsed)) {
            ADD_FAILURE() << shown << "was accepted";
            continue;
        }
        EXPECT_EQ(std::get<int>(parsed), 2) << shown;
    }
}

TEST(IsLoopbackHost, OnlyLoopbackAddressesAndLocalhost) {
    for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"}) {
        EXPECT_TRUE(is_loopback_host(host)) << host;
    }
    for (const char* host : {"0.0.0.0", "::", "[::]", "192.0.2.1", "10.0.0.1", "2001:db8::1",
                             "example.test", "128.0.0.1"}) {
        EXPECT_FALSE(is_loopback_host(host)) << host;
    }
}

}  // namespace
}  // namespace socks
