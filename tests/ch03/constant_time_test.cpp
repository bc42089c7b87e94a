// Users::check must take the same time whether a guess is wrong at its first
// byte or its last (docs/03-auth.md, "Three decisions"). A timing test cannot
// tell that apart reliably: an early exit saves nanoseconds, and on a shared
// machine one scheduler tick is a million times more. So this test checks the
// structure of the code instead, which is what makes the time constant: every
// account is compared with difference() (the loop over the longer length that
// never stops early), and nothing in Users::check can skip a comparison.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {

// Users::check's body in 03-auth/auth.cpp, comments and string literals removed.
std::string check_body() {
    std::ifstream file(SOCKS_SOURCE_DIR "/03-auth/auth.cpp");
    std::stringstream text;
    text << file.rdbuf();
    std::string source = std::regex_replace(text.str(), std::regex(R"(//[^\n]*)"), "");
    source = std::regex_replace(source, std::regex(R"("(\\.|[^"\\])*")"), "\"\"");
    auto start = source.find("bool Users::check(");
    if (start == std::string::npos) return {};
    auto open = source.find('{', start);
    int depth = 0;
    for (auto i = open; i < source.size(); ++i) {
        depth += source[i] == '{' ? 1 : source[i] == '}' ? -1 : 0;
        if (depth == 0) return source.substr(open + 1, i - open - 1);
    }
    return {};
}

int count(const std::string& text, const std::regex& pattern) {
    return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), pattern),
                                          std::sregex_iterator()));
}

TEST(ConstantTime, UsersCheckComparesEveryAccountWithDifferenceAndNeverStopsEarly) {
    std::string body = check_body();
    ASSERT_FALSE(body.empty()) << "no 'bool Users::check(' in 03-auth/auth.cpp";
    SCOPED_TRACE("Users::check in 03-auth/auth.cpp is:\n{" + body + "}");
    EXPECT_GE(count(body, std::regex(R"(\bdifference\s*\()")), 2)
        << "compare the name and the password each with difference(a, b): it runs over the "
           "longer length and never exits early";
    EXPECT_EQ(count(body, std::regex(R"(\breturn\b)")), 1)
        << "one return, after the loop: a return inside it skips the remaining accounts";
    EXPECT_EQ(count(body, std::regex(R"(\b(break|goto)\b)")), 0)
        << "no break: every account is compared";
    EXPECT_EQ(count(body, std::regex(R"(&&|\|\||\?)")), 0)
        << "no &&, || or ?: they skip the second comparison when the first decides; combine "
           "the results with | and |=";
    EXPECT_EQ(count(body, std::regex(R"([=!]=(?!\s*0u?\b))")), 0)
        << "== and != only against 0 (diff == 0): comparing the strings with == stops at the "
           "first byte that differs";
    EXPECT_EQ(
        count(body, std::regex(R"(\b(compare|strcmp|strncmp|memcmp|equal|mismatch|find)\s*\()")), 0)
        << "no compare(), strcmp(), memcmp(), std::equal(), mismatch() or find(): they stop "
           "at the first byte that differs";
}

}  // namespace
