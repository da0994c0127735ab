#include "server/routing/glob.h"

#include "gtest/gtest.h"

namespace mailroom::server::routing {
namespace {

bool Insensitive(const char* pattern, const char* text) {
  return Glob::Compile(pattern, Glob::Case::kInsensitive).Matches(text);
}
bool Sensitive(const char* pattern, const char* text) {
  return Glob::Compile(pattern, Glob::Case::kSensitive).Matches(text);
}

TEST(GlobTest, StarMatchesAnyRunIncludingNone) {
  EXPECT_TRUE(Insensitive("*@qa.example.com", "a@qa.example.com"));
  EXPECT_TRUE(Insensitive("*@qa.example.com", "@qa.example.com"));
  EXPECT_FALSE(Insensitive("*@qa.example.com", "a@qa.example.com.evil"));
  EXPECT_FALSE(Insensitive("*@qa.example.com", "a@xqa.example.co"));
  EXPECT_TRUE(Insensitive("qa+*@example.com", "qa+build-7@example.com"));
  EXPECT_TRUE(Insensitive("qa+*@example.com", "qa+@example.com"));
  EXPECT_FALSE(Insensitive("qa+*@example.com", "qa@example.com"));
  EXPECT_TRUE(Insensitive("*@*.test", "a@b.test"));
  EXPECT_TRUE(Insensitive("*@*.test", "a@b.c.test"));
  EXPECT_FALSE(Insensitive("*@*.test", "a@test"));
}

TEST(GlobTest, StarAloneAndRepeatedStars) {
  EXPECT_TRUE(Insensitive("*", ""));
  EXPECT_TRUE(Insensitive("*", "anything at all"));
  EXPECT_TRUE(Insensitive("**", "x"));
  EXPECT_TRUE(Insensitive("a**b", "ab"));
  EXPECT_TRUE(Insensitive("", ""));
  EXPECT_FALSE(Insensitive("", "a"));
  EXPECT_FALSE(Insensitive("a", ""));
}

TEST(GlobTest, QuestionMarkMatchesExactlyOneCharacter) {
  EXPECT_TRUE(Insensitive("a?c", "abc"));
  EXPECT_FALSE(Insensitive("a?c", "ac"));
  EXPECT_FALSE(Insensitive("a?c", "abbc"));
  // One character, not one byte: é is two bytes in UTF-8.
  EXPECT_TRUE(Insensitive("a?c",
                          "a\xc3\xa9"
                          "c"));
  EXPECT_TRUE(Insensitive("*?", "x"));
  EXPECT_FALSE(Insensitive("*?", ""));
}

TEST(GlobTest, BackslashMakesTheNextCharacterLiteral) {
  EXPECT_TRUE(Insensitive("a\\*b", "a*b"));
  EXPECT_FALSE(Insensitive("a\\*b", "axb"));
  EXPECT_TRUE(Insensitive("a\\?b", "a?b"));
  EXPECT_FALSE(Insensitive("a\\?b", "axb"));
  EXPECT_TRUE(Insensitive("a\\\\b", "a\\b"));
  EXPECT_TRUE(Insensitive("\\a", "a"));
}

TEST(GlobTest, CaseFolding) {
  EXPECT_TRUE(Insensitive("*@QA.Example.COM", "Bob@qa.example.com"));
  EXPECT_TRUE(Sensitive("alice*", "alice-ci"));
  EXPECT_FALSE(Sensitive("alice*", "Alice-ci"));
  EXPECT_FALSE(Sensitive("alice", "alice2"));
  EXPECT_TRUE(Sensitive("alice", "alice"));
}

TEST(GlobTest, BacktracksOnlyToTheLastStar) {
  EXPECT_TRUE(Insensitive("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(Insensitive("*a*b*c", "xxaxxcxxb"));
  // A pattern that is exponential for naive backtracking ends at once.
  std::string text(2000, 'a');
  EXPECT_FALSE(Insensitive("*a*a*a*a*a*a*a*a*b", text.c_str()));
}

}  // namespace
}  // namespace mailroom::server::routing
