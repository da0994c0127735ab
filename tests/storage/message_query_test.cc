// The query parser (every operator, quoting, negation, positioned errors), the LIKE escaping
// of the SQL builder and the page-token encoding. No database: message_store_test.cc runs
// the same queries against PostgreSQL.

#include "storage/message_query.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/message_sql.h"
#include "storage/page_token.h"
#include "tests/support/status_matchers.h"

namespace mailroom::storage {
namespace {

using ::testing::HasSubstr;

Term Only(absl::string_view query) {
  absl::StatusOr<MessageFilter> filter = ParseQuery(query);
  EXPECT_OK(filter.status());
  if (!filter.ok() || filter->terms.size() != 1) {
    ADD_FAILURE() << "expected one term in " << query;
    return {};
  }
  return filter->terms[0];
}

std::string ErrorOf(absl::string_view query) {
  absl::StatusOr<MessageFilter> filter = ParseQuery(query);
  EXPECT_FALSE(filter.ok()) << query;
  if (filter.ok()) return "";
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(filter.status().message());
}

TEST(ParseQueryTest, EmptyQueryHasNoTerms) {
  absl::StatusOr<MessageFilter> filter = ParseQuery("   ");
  ASSERT_OK(filter.status());
  EXPECT_TRUE(filter->terms.empty());
  EXPECT_EQ(filter->source, "   ");
}

TEST(ParseQueryTest, WordsAndPhrases) {
  absl::StatusOr<MessageFilter> filter = ParseQuery(R"(invoice  "daily report" -"a \"b\" \\")");
  ASSERT_OK(filter.status());
  ASSERT_EQ(filter->terms.size(), 3u);
  EXPECT_EQ(filter->terms[0], (Term{.kind = TermKind::kWord, .text = "invoice", .position = 1}));
  EXPECT_EQ(filter->terms[1],
            (Term{.kind = TermKind::kPhrase, .text = "daily report", .position = 10}));
  EXPECT_EQ(
      filter->terms[2],
      (Term{.kind = TermKind::kPhrase, .negated = true, .text = "a \"b\" \\", .position = 25}));
}

TEST(ParseQueryTest, SubstringOperatorsCaseInsensitiveNames) {
  EXPECT_EQ(Only("FROM:billing").kind, TermKind::kFrom);
  EXPECT_EQ(Only("from:billing").text, "billing");
  EXPECT_EQ(Only("to:@example.com").kind, TermKind::kTo);
  EXPECT_EQ(Only("Cc:bob").kind, TermKind::kCc);
  const Term subject = Only(R"(subject:"password reset")");
  EXPECT_EQ(subject.kind, TermKind::kSubject);
  EXPECT_EQ(subject.text, "password reset");
  EXPECT_EQ(Only("from:a:b").text, "a:b");
}

TEST(ParseQueryTest, FlagOperators) {
  EXPECT_EQ(Only("is:read"), (Term{.kind = TermKind::kRead, .position = 1}));
  EXPECT_EQ(Only("is:UNREAD"), (Term{.kind = TermKind::kRead, .negated = true, .position = 1}));
  EXPECT_EQ(Only("-is:unread"), (Term{.kind = TermKind::kRead, .negated = false, .position = 1}));
  EXPECT_EQ(Only("has:attachment").kind, TermKind::kHasAttachment);
  EXPECT_TRUE(Only("-has:attachment").negated);
}

TEST(ParseQueryTest, Times) {
  const Term after = Only("after:2024-05-01");
  EXPECT_EQ(after.kind, TermKind::kAfter);
  EXPECT_EQ(after.time, absl::FromCivil(absl::CivilDay(2024, 5, 1), absl::UTCTimeZone()));
  const Term before = Only("before:2024-05-01T12:30:00+02:00");
  EXPECT_EQ(before.kind, TermKind::kBefore);
  EXPECT_EQ(before.time,
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 30, 0), absl::UTCTimeZone()));
  EXPECT_EQ(Only("after:2024-05-01T10:30:00.25Z").time,
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 30, 0), absl::UTCTimeZone()) +
                absl::Milliseconds(250));
}

TEST(ParseQueryTest, Sizes) {
  EXPECT_EQ(Only("larger:10k").size, 10240);
  EXPECT_EQ(Only("smaller:2M").size, 2097152);
  EXPECT_EQ(Only("larger:1g").size, int64_t{1} << 30);
  EXPECT_EQ(Only("larger:123").size, 123);
  EXPECT_EQ(Only("smaller:5").kind, TermKind::kSmaller);
}

TEST(ParseQueryTest, ErrorsNamePositionAndProblem) {
  EXPECT_EQ(ErrorOf("to:a form:b"),
            "query: position 6: unknown operator `form:` (quote the word to search for it "
            "literally)");
  EXPECT_THAT(ErrorOf("foo:bar"), HasSubstr("position 1: unknown operator `foo:`"));
  EXPECT_THAT(ErrorOf("a \"open"), HasSubstr("position 3: unterminated quoted string"));
  EXPECT_THAT(ErrorOf("from:"), HasSubstr("position 6: missing value after `from:`"));
  EXPECT_THAT(ErrorOf("is:maybe"), HasSubstr("position 4: unknown value `maybe` for `is:`"));
  EXPECT_THAT(ErrorOf("has:pdf"), HasSubstr("position 5: unknown value `pdf`"));
  EXPECT_THAT(ErrorOf("after:2024-13-01"), HasSubstr("position 7: invalid time `2024-13-01`"));
  EXPECT_THAT(ErrorOf("after:2024-5-1"), HasSubstr("invalid time"));
  EXPECT_THAT(ErrorOf("before:yesterday"), HasSubstr("invalid time"));
  EXPECT_THAT(ErrorOf("larger:10x"), HasSubstr("position 8: invalid size `10x`"));
  EXPECT_THAT(ErrorOf("larger:99999999999999999999"), HasSubstr("invalid size"));
  EXPECT_THAT(ErrorOf("smaller:-1"), HasSubstr("invalid size"));
  EXPECT_THAT(ErrorOf("a - b"), HasSubstr("position 3: `-` without a term"));
  EXPECT_THAT(ErrorOf("--a"), HasSubstr("position 2: `-` may appear only once"));
  EXPECT_THAT(ErrorOf("\"\""), HasSubstr("position 1: empty phrase"));
  EXPECT_THAT(ErrorOf("\"ab\"cd"), HasSubstr("position 5: expected white space"));
  EXPECT_THAT(ErrorOf("\"a\\nb\""), HasSubstr("position 3: invalid escape"));
  EXPECT_THAT(ErrorOf("ab\"cd"), HasSubstr("position 3:"));
}

TEST(ParseQueryTest, PositionsCountCharactersNotBytes) {
  EXPECT_THAT(ErrorOf("réunion ünknown:x"), HasSubstr("position 9: unknown operator `ünknown:`"));
}

TEST(ParseQueryTest, Limits) {
  std::string many;
  for (int i = 0; i < 64; ++i) many += "w ";
  EXPECT_OK(ParseQuery(many).status());
  EXPECT_THAT(ErrorOf(many + "x"), HasSubstr("position 129: more than 64 terms"));
  EXPECT_EQ(ErrorOf(std::string(2049, 'a')), "query: longer than 2048 bytes");
  EXPECT_EQ(ErrorOf("\xff"), "query: not valid UTF-8");
}

TEST(MessageSqlTest, ValuesAreParametersWithLikeWildcardsEscaped) {
  absl::StatusOr<MessageFilter> filter = ParseQuery(R"(from:"50%_off\\" -subject:x' word)");
  ASSERT_OK(filter.status());
  SqlParams params;
  const std::string sql = FilterCondition(*filter, params);
  EXPECT_EQ(sql.find('\''), sql.find("'simple'")) << sql;  // no value quoted into the SQL
  EXPECT_THAT(sql, HasSubstr("NOT coalesce((m.subject ILIKE $2), false)"));
  ASSERT_EQ(params.values().size(), 3u);
  EXPECT_EQ(params.values()[0], "%50\\%\\_off\\\\%");
  EXPECT_EQ(params.values()[1], "%x'%");
  EXPECT_EQ(params.values()[2], "word");
}

TEST(PageTokenTest, RoundTripsAndRejectsOtherScopesAndDamage) {
  const PageCursor cursor{.received_us = 1714559400123456,
                          .id = "0190a5c4-1234-7abc-8def-0123456789ab"};
  const uint64_t scope = PageScope("qa", "from:x");
  const std::string token = EncodePageToken(cursor, scope);
  absl::StatusOr<PageCursor> decoded = DecodePageToken(token, scope);
  ASSERT_OK(decoded.status());
  EXPECT_EQ(*decoded, cursor);

  EXPECT_THAT(DecodePageToken(token, PageScope("qa", "from:y")).status().message(),
              HasSubstr("page_token: the token belongs to another mailbox or query"));
  EXPECT_NE(PageScope("q", "afrom:x"), scope);
  std::string damaged = token;
  damaged[5] = damaged[5] == 'A' ? 'B' : 'A';
  EXPECT_THAT(DecodePageToken(damaged, scope).status().message(), HasSubstr("page_token: "));
  EXPECT_FALSE(DecodePageToken("not a token", scope).ok());
  EXPECT_FALSE(DecodePageToken(token.substr(1), scope).ok());
}

}  // namespace
}  // namespace mailroom::storage
