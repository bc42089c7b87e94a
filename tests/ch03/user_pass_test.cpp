// Chapter 03's pure pieces: parse_user_pass, serialize_auth_status and Users.
#include <gtest/gtest.h>

#include <stdexcept>

#include "auth.hpp"
#include "capture.hpp"

namespace socks {
namespace {

using test::hex;
using test::to_hex;

// --- parse_user_pass --------------------------------------------------------

// +----+------+----------+------+----------+
// |VER | ULEN |  UNAME   | PLEN |  PASSWD  |
// +----+------+----------+------+----------+
// 01    05     "alice"    06     "secret"     (14 bytes, curl --proxy-user alice:secret)
TEST(ParseUserPass, EveryTruncationPointNeedsTheExactMissingCount) {
    const Bytes message = hex("01 05 \"alice\" 06 \"secret\"");
    ASSERT_EQ(message.size(), 14u);
    for (std::size_t prefix = 0; prefix < message.size(); ++prefix) {
        // The parser can see only as far as the next length byte: first VER and
        // ULEN (2 bytes), then UNAME and PLEN (up to byte 8), then PASSWD.
        std::size_t expected = prefix < 2 ? 2 - prefix : prefix < 8 ? 8 - prefix : 14 - prefix;
        auto parsed = parse_user_pass(ByteView(message.data(), prefix));
        const auto* need = std::get_if<NeedMore>(&parsed);
        ASSERT_NE(need, nullptr) << "the first " << prefix << " bytes of [" << to_hex(message)
                                 << "] should give NeedMore{" << expected << "}";
        EXPECT_EQ(need->bytes, expected) << "after " << prefix << " bytes";
    }
    auto parsed = parse_user_pass(message);
    ASSERT_TRUE(std::holds_alternative<UserPass>(parsed));
    EXPECT_EQ(std::get<UserPass>(parsed).username, "alice");
    EXPECT_EQ(std::get<UserPass>(parsed).password, "secret");
}

TEST(ParseUserPass, WrongSubnegotiationVersionIsAnErrorAnsweredWithFailure) {
    // A client that sends SOCKS5's 05 instead of RFC 1929's 01.
    for (const char* bytes : {"05 05 \"alice\" 06 \"secret\"", "00 00 00", "02 01"}) {
        auto parsed = parse_user_pass(hex(bytes));
        const auto* error = std::get_if<ParseError>(&parsed);
        ASSERT_NE(error, nullptr) << "[" << bytes << "] must be a ParseError";
        EXPECT_NE(error->reason.find("auth VER"), std::string::npos) << error->reason;
        // RFC 1929: any STATUS other than 00 is a failure, and the server closes.
        EXPECT_EQ(error->reply, std::optional<std::uint8_t>(0x01)) << bytes;
    }
}

TEST(ParseUserPass, EmptyNameAndEmptyPasswordParse) {
    // The RFC says 1 to 255, but curl's `socks5h://alice:@host` sends PLEN = 0.
    // The parser accepts both; the account check decides (Users never holds an empty name).
    struct Row {
        const char* bytes;
        const char* username;
        const char* password;
    };
    const Row rows[] = {
        {"01 05 \"alice\" 00", "alice", ""},
        {"01 00 06 \"secret\"", "", "secret"},
        {"01 00 00", "", ""},
    };
    for (const Row& row : rows) {
        auto parsed = parse_user_pass(hex(row.bytes));
        const auto* credentials = std::get_if<UserPass>(&parsed);
        ASSERT_NE(credentials, nullptr) << "[" << row.bytes << "] should parse";
        EXPECT_EQ(credentials->username, row.username) << row.bytes;
        EXPECT_EQ(credentials->password, row.password) << row.bytes;
    }
}

TEST(ParseUserPass, FieldsOf255BytesParse) {
    std::string name(255, 'n'), password(255, 'p');
    Bytes message{0x01, 0xff};
    message.insert(message.end(), name.begin(), name.end());
    message.push_back(0xff);
    message.insert(message.end(), password.begin(), password.end());
    ASSERT_EQ(message.size(), 513u);

    auto after_ulen = parse_user_pass(ByteView(message.data(), 2));
    ASSERT_TRUE(std::holds_alternative<NeedMore>(after_ulen));
    EXPECT_EQ(std::get<NeedMore>(after_ulen).bytes, 256u);  // UNAME and PLEN

    auto parsed = parse_user_pass(message);
    ASSERT_TRUE(std::holds_alternative<UserPass>(parsed));
    EXPECT_EQ(std::get<UserPass>(parsed).username, name);
    EXPECT_EQ(std::get<UserPass>(parsed).password, password);
}

TEST(ParseUserPass, DoesNotLookPastTheMessage) {
    // The request that follows authentication must stay for the next reader.
    auto parsed = parse_user_pass(hex("01 01 \"u\" 01 \"p\" 05 01 00 01"));
    ASSERT_TRUE(std::holds_alternative<UserPass>(parsed));
    EXPECT_EQ(std::get<UserPass>(parsed).password, "p");
}

TEST(SerializeAuthStatus, StartsWithRfc1929sVersionNotSocks5s) {
    EXPECT_EQ(to_hex(serialize_auth_status(true)), "01 00");
    EXPECT_EQ(to_hex(serialize_auth_status(false)), "01 01");
}

// --- Users ------------------------------------------------------------------

Users users_from(std::initializer_list<const char*> options) {
    Users users;
    for (const char* option : options)
        users.add_from_option(option);
    return users;
}

TEST(Users, AddFromOptionAcceptsNameColonPassword) {
    Users users = users_from({"alice:secret", "bob:", "carol:a:b"});
    EXPECT_EQ(users.size(), 3u);
    EXPECT_TRUE(users.check({"alice", "secret"}));
    EXPECT_TRUE(users.check({"bob", ""})) << "'bob:' is an account with an empty password";
    EXPECT_TRUE(users.check({"carol", "a:b"})) << "the first ':' ends the name";
}

TEST(Users, AddFromOptionRejectsMalformedAndOverlongAccounts) {
    struct Row {
        std::string option;
        const char* why;
    };
    const Row rows[] = {
        {"alice", "no ':'"},
        {":pw", "an empty name"},
        {":", "an empty name"},
        {"", "no ':'"},
        {std::string(256, 'n') + ":pw", "a name longer than ULEN can say"},
        {"alice:" + std::string(256, 'p'), "a password longer than PLEN can say"},
    };
    for (const Row& row : rows) {
        Users users;
        EXPECT_THROW(users.add_from_option(row.option), std::invalid_argument)
            << "'" << row.option.substr(0, 20) << "' (" << row.why << ") must be refused";
        EXPECT_TRUE(users.empty());
    }
    Users longest;
    longest.add_from_option(std::string(255, 'n') + ":" + std::string(255, 'p'));
    EXPECT_TRUE(longest.check({std::string(255, 'n'), std::string(255, 'p')}));
}

TEST(Users, CheckAcceptsOnlyTheExactNameAndPassword) {
    Users users = users_from({"alice:secret", "bob:hunter2"});
    EXPECT_TRUE(users.check({"alice", "secret"}));
    EXPECT_TRUE(users.check({"bob", "hunter2"}));

    const UserPass wrong[] = {
        {"alice", "secre"},    // a prefix of the password
        {"alice", "secretX"},  // the password plus a suffix
        {"alice", "ecret"},    // a suffix of the password
        {"alice", "Secret"},   // case matters
        {"alice", ""},         // empty password
        {"alice", "hunter2"},  // bob's password
        {"alic", "secret"},    // a prefix of the name
        {"Alice", "secret"},   // names are bytes too
        {"", "secret"},        // empty name
        {"secret", "alice"},   // swapped
        {"", ""},
        {std::string("alice\0", 6), "secret"},  // a NUL byte is part of the name
    };
    for (const UserPass& attempt : wrong) {
        EXPECT_FALSE(users.check(attempt)) << "accepted name '" << attempt.username
                                           << "' with password '" << attempt.password << "'";
    }
}

TEST(Users, EmptyPasswordAccountAcceptsOnlyTheEmptyPassword) {
    Users users = users_from({"alice:"});
    EXPECT_TRUE(users.check({"alice", ""}));
    EXPECT_FALSE(users.check({"alice", "x"}));
    EXPECT_FALSE(users.check({"", ""}));
}

TEST(Users, NoAccountsAcceptsNobody) {
    Users users;
    EXPECT_TRUE(users.empty());
    EXPECT_FALSE(users.check({"", ""}));
    EXPECT_FALSE(users.check({"alice", "secret"}));
}

}  // namespace
}  // namespace socks
