#include "smtp/html_text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Words are what search sees: compare with runs of white space folded to one space.
std::string Words(absl::string_view html, size_t max_bytes = 1 << 16) {
  std::string text = HtmlToText(html, max_bytes);
  std::string folded;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (folded.empty() || folded.back() == ' ')) continue;
    folded.push_back(space ? ' ' : c);
  }
  while (!folded.empty() && folded.back() == ' ') folded.pop_back();
  return folded;
}

TEST(HtmlToTextTest, TagsAreDroppedAndBlocksSeparateWords) {
  EXPECT_EQ(Words("<p>Reset your <b>password</b></p><p>now</p>"), "Reset your password now");
  EXPECT_EQ(Words("<div>one</div><div>two</div>"), "one two");
  EXPECT_EQ(Words("line<br>break"), "line break");
}

TEST(HtmlToTextTest, ScriptStyleAndCommentsAreSkippedWhole) {
  const std::string text =
      Words("<style>.x{color:red}</style><script>var secret=1;</script><!-- hidden -->shown");
  EXPECT_EQ(text, "shown");
}

TEST(HtmlToTextTest, CharacterReferencesAreDecoded) {
  EXPECT_EQ(Words("Tom &amp; Jerry &lt;3 &quot;hi&quot; &#65;&#x42; caf&#233;"),
            "Tom & Jerry <3 \"hi\" AB caf\xC3\xA9");
  // Unknown references stay as written.
  EXPECT_THAT(Words("&bogus; x"), HasSubstr("&bogus;"));
}

TEST(HtmlToTextTest, MalformedHtmlNeverFails) {
  EXPECT_EQ(Words("<p>unclosed <b>bold"), "unclosed bold");
  EXPECT_THAT(Words("a < b and c > d"), HasSubstr("a"));
  EXPECT_EQ(Words(""), "");
  EXPECT_THAT(Words("<a href='x>y'>link</a>"), Not(HasSubstr("href")));
}

TEST(HtmlToTextTest, OutputIsBounded) {
  std::string html;
  for (int i = 0; i < 10000; ++i) html += "<p>word</p>";
  EXPECT_LE(HtmlToText(html, 1000).size(), 1100u);
}

}  // namespace
}  // namespace mailroom::smtp
