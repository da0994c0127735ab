// The hand-built encodings of the ingest path (UTF-8 clean-up, JSON strings, array
// literals, transcript and parameter JSON) and the row validation, without a database.

#include "storage/text_encoding.h"

#include <string>

#include "gtest/gtest.h"
#include "storage/ingest_batch.h"
#include "storage/ingest_rows.h"
#include "storage/schema.h"

namespace mailroom::storage {
namespace {

using namespace std::string_literals;

constexpr char kFffd[] = "\xEF\xBF\xBD";

std::string Json(absl::string_view bytes) {
  std::string out;
  AppendJsonString(out, bytes);
  return out;
}

TEST(SanitizeUtf8Test, KeepsValidUtf8) {
  const std::string valid = "plain ASCII, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x93\xA7 \x7F";
  EXPECT_EQ(SanitizeUtf8(valid), valid);
  EXPECT_EQ(SanitizeUtf8(""), "");
}

TEST(SanitizeUtf8Test, ReplacesEachBadByteAndNul) {
  EXPECT_EQ(SanitizeUtf8("a\0b"s), "a"s + kFffd + "b");
  EXPECT_EQ(SanitizeUtf8("\xFF"), kFffd);
  // A truncated three-byte sequence: each byte on its own is rejected.
  EXPECT_EQ(SanitizeUtf8("x\xE2\x82"), "x"s + kFffd + kFffd);
  // Overlong '/', a UTF-16 surrogate, and a code point above U+10FFFF.
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), std::string(kFffd) + kFffd);
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80"), std::string(kFffd) + kFffd + kFffd + kFffd);
  // A lone continuation byte between valid characters.
  EXPECT_EQ(SanitizeUtf8("\xC3\xA9\x80\xC3\xA9"), "\xC3\xA9"s + kFffd + "\xC3\xA9");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(Json("\r\n\t\b\f"), R"("\r\n\t\b\f")");
  EXPECT_EQ(Json("\x01\x1F"), R"("\u0001\u001f")");
  // NUL is not escaped as \u0000 (jsonb rejects it) but replaced.
  EXPECT_EQ(Json("a\0b"s), "\"a"s + kFffd + "b\"");
  EXPECT_EQ(Json("\xFF caf\xC3\xA9"), "\""s + kFffd + " caf\xC3\xA9\"");
  EXPECT_EQ(Json("</script> \x7F"), "\"</script> \x7F\"");
}

TEST(PgArrayBuilderTest, QuotesEveryElementAndWritesNull) {
  PgArrayBuilder array;
  array.Add("plain");
  array.AddNull();
  array.Add("with \"quote\" and \\ and , {braces}");
  array.Add("");
  array.Add("NULL");
  EXPECT_EQ(std::move(array).Finish(),
            R"({"plain",NULL,"with \"quote\" and \\ and , {braces}","","NULL"})");
  EXPECT_EQ(PgArrayBuilder().Finish(), "{}");
  PgArrayBuilder text;
  text.AddText("a\0\"\xFF"s);
  EXPECT_EQ(std::move(text).Finish(), "{\"a"s + kFffd + "\\\"" + kFffd + "\"}");
}

TEST(IngestJsonTest, TranscriptAndParameters) {
  const std::vector<TranscriptRow> transcript = {
      {absl::Microseconds(0), TranscriptRow::Direction::kServer, "220 ready"},
      {absl::Microseconds(1500), TranscriptRow::Direction::kClient, "EHLO \"x\""},
      {absl::Nanoseconds(2999), TranscriptRow::Direction::kInfo, "tls"},
  };
  EXPECT_EQ(TranscriptJson(transcript),
            R"([{"t":0,"d":"S","l":"220 ready"},{"t":1500,"d":"C","l":"EHLO \"x\""},)"
            R"({"t":2,"d":"I","l":"tls"}])");
  EXPECT_EQ(TranscriptJson({}), "[]");
  EXPECT_EQ(ParametersJson({{"SIZE", "12"}, {"SMTPUTF8", ""}}),
            R"([["SIZE","12"],["SMTPUTF8",""]])");
}

TEST(IngestJsonTest, TimestampLiteralIsUtcWithMicroseconds) {
  EXPECT_EQ(TimestampLiteral(absl::FromUnixMicros(1700000000123456) + absl::Nanoseconds(789)),
            "2023-11-14 22:13:20.123456+00");
  EXPECT_EQ(TimestampLiteral(absl::UnixEpoch()), "1970-01-01 00:00:00.000000+00");
}

NewMessage ValidMessage() {
  NewMessage message;
  message.id = "0190a5c4-0000-7000-8000-000000000001";
  message.client_address = "192.0.2.10";
  message.mailbox_ids = {std::string(kDefaultMailboxId)};
  return message;
}

TEST(ValidateTest, Messages) {
  EXPECT_TRUE(ValidateMessage(ValidMessage()).ok());
  NewMessage bad_id = ValidMessage();
  bad_id.id = "x";
  EXPECT_EQ(ValidateMessage(bad_id).code(), absl::StatusCode::kInvalidArgument);
  NewMessage bad_address = ValidMessage();
  bad_address.client_address = "192.0.2.300";
  EXPECT_EQ(ValidateMessage(bad_address).code(), absl::StatusCode::kInvalidArgument);
  NewMessage bad_mailbox = ValidMessage();
  bad_mailbox.mailbox_ids.push_back("default");
  EXPECT_EQ(ValidateMessage(bad_mailbox).code(), absl::StatusCode::kInvalidArgument);
  NewMessage bad_ret = ValidMessage();
  bad_ret.dsn_ret = "ALL";
  EXPECT_EQ(ValidateMessage(bad_ret).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateTest, Sessions) {
  NewSession session;
  session.id = "0190a5c4-0000-7000-8000-000000000002";
  session.client_address = "2001:db8::1";
  session.client_port = 65535;
  session.outcome = std::string(kOutcomeClientDropped);
  EXPECT_TRUE(ValidateSession(session).ok());
  NewSession bad_port = session;
  bad_port.client_port = 65536;
  EXPECT_EQ(ValidateSession(bad_port).code(), absl::StatusCode::kInvalidArgument);
  NewSession bad_outcome = session;
  bad_outcome.outcome = "dropped";
  EXPECT_EQ(ValidateSession(bad_outcome).code(), absl::StatusCode::kInvalidArgument);
  NewSession no_address = session;
  no_address.client_address = "";
  EXPECT_EQ(ValidateSession(no_address).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsIpAddress("10.0.0.0/8"));
  EXPECT_TRUE(IsIpAddress("::ffff:192.0.2.1"));
}

}  // namespace
}  // namespace mailroom::storage
