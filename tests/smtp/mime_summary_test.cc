// Tests of smtp/mime_summary.h on the messages in tests/testdata/mime/ (stored with LF line
// ends for readability and given to SummarizeMessage with CRLF, as SMTP delivers them), and
// on generated input: garbage, a 5 MB message, deep nesting, many threads at once.

#include "smtp/mime_summary.h"

#include <glib.h>

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(MAILROOM_TESTDATA_DIR) + "/mime/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::string text(std::istreambuf_iterator<char>(in), {});
  return absl::StrReplaceAll(text, {{"\n", "\r\n"}});
}

absl::Time Utc(int year, int month, int day, int hour, int minute, int second) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

bool IsValidText(const std::string& text) {
  return text.find('\0') == std::string::npos &&
         g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr);
}

std::string Describe(const MessageSummary& s) {
  return absl::StrCat("from=", s.from, " to=", s.to, " cc=", s.cc, " subject=", s.subject,
                      " date=", s.date ? absl::FormatTime(*s.date) : "none", " id=", s.message_id,
                      " attachments=", s.has_attachments, " problems=[",
                      absl::StrJoin(s.problems, " | "), "]");
}

TEST(SummarizeMessageTest, SimpleTextMessage) {
  MessageSummary summary = SummarizeMessage(Fixture("simple.eml"));
  EXPECT_EQ(summary.from, "Ann Example <ann@example.com>");
  EXPECT_EQ(summary.to, "Bob <bob@example.org>, carol@example.net");
  EXPECT_EQ(summary.cc, "\"Dee, Team Lead\" <dee@example.com>");
  EXPECT_EQ(summary.subject, "Quarterly report");
  EXPECT_THAT(summary.date, Optional(Utc(2003, 7, 1, 8, 52, 37)));
  EXPECT_EQ(summary.message_id, "20030701105237.1234@mail.example.com");
  EXPECT_FALSE(summary.has_attachments);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, AcceptsBareLineFeeds) {
  std::ifstream in(std::string(MAILROOM_TESTDATA_DIR) + "/mime/simple.eml", std::ios::binary);
  std::string lf_only(std::istreambuf_iterator<char>(in), {});
  MessageSummary summary = SummarizeMessage(lf_only);
  EXPECT_EQ(summary.subject, "Quarterly report");
  EXPECT_EQ(summary.message_id, "20030701105237.1234@mail.example.com");
}

TEST(SummarizeMessageTest, MultipartAlternativeHasNoAttachments) {
  MessageSummary summary = SummarizeMessage(Fixture("alternative.eml"));
  EXPECT_EQ(summary.subject, "Newsletter");
  EXPECT_EQ(summary.from, "news@example.com");
  EXPECT_FALSE(summary.has_attachments);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, MultipartMixedWithAttachment) {
  MessageSummary summary = SummarizeMessage(Fixture("mixed_attachment.eml"));
  EXPECT_EQ(summary.subject, "Invoice");
  EXPECT_THAT(summary.date, Optional(Utc(2023, 3, 16, 14, 30, 0)));
  EXPECT_TRUE(summary.has_attachments);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, NestedMultipartFindsNamedNonTextPart) {
  // The attachment is an application/zip with only a Content-Type name, after a
  // multipart/related whose image has a Content-ID.
  MessageSummary summary = SummarizeMessage(Fixture("nested.eml"));
  EXPECT_EQ(summary.subject, "Nested parts");
  EXPECT_TRUE(summary.has_attachments);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, InlineImageWithContentIdIsNotAnAttachment) {
  MessageSummary summary = SummarizeMessage(Fixture("inline_image.eml"));
  EXPECT_FALSE(summary.has_attachments) << Describe(summary);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, ContentDispositionAttachmentAlwaysCounts) {
  // The same inline image, but declared an attachment.
  std::string message =
      absl::StrReplaceAll(Fixture("inline_image.eml"),
                          {{"Content-Disposition: inline;", "Content-Disposition: attachment;"}});
  EXPECT_TRUE(SummarizeMessage(message).has_attachments);
}

TEST(SummarizeMessageTest, AttachedMessageCounts) {
  MessageSummary summary = SummarizeMessage(Fixture("attached_message.eml"));
  EXPECT_EQ(summary.subject, "Fwd: original");  // the outer message's headers
  EXPECT_EQ(summary.from, "Ann <ann@example.com>");
  EXPECT_TRUE(summary.has_attachments);
}

TEST(SummarizeMessageTest, DecodesEncodedWordsInSeveralCharsets) {
  MessageSummary summary = SummarizeMessage(Fixture("encoded_words.eml"));
  // ISO-8859-1 Q, ISO-2022-JP B, UTF-8 B, windows-1252 Q; the whitespace between adjacent
  // encoded words is not part of the text (RFC 2047 §6.2).
  EXPECT_EQ(summary.subject, "Grüße aus Köln日本語の件名— ✓ €uro “quoted”");
  // A UTF-8 character split across two encoded words.
  EXPECT_EQ(summary.from, "Jörg Müller <joerg@example.de>");
  EXPECT_EQ(summary.to, "山田太郎 <yamada@example.jp>, François <francois@example.fr>");
  EXPECT_THAT(summary.date, Optional(Utc(2023, 3, 19, 22, 15, 0)));
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, BrokenEncodedWordsKeepTheirRawText) {
  MessageSummary summary = SummarizeMessage(Fixture("broken_encoded_words.eml"));
  EXPECT_EQ(summary.subject,
            "a =?x-unknown-charset?Q?abc?= b =?utf-8?B?###?= c =?utf-8?Q?caf=C3?= d "
            "=?utf-8?Q?=ZZ?= e =?utf-8?Q?unterminated");
  EXPECT_THAT(summary.problems,
              Contains(HasSubstr("Subject: undecodable encoded word =?x-unknown-charset?Q?abc?=")));
  EXPECT_THAT(summary.problems, Contains(HasSubstr("=?utf-8?B?###?= (malformed encoding)")));
  EXPECT_THAT(summary.problems, Contains(HasSubstr("=?utf-8?Q?caf=C3?=")));
  EXPECT_THAT(summary.problems, Contains(HasSubstr("=?utf-8?Q?=ZZ?=")));
  EXPECT_EQ(summary.message_id, "broken-1@example.com");
}

TEST(SummarizeMessageTest, RawUtf8HeadersFromSmtpUtf8Clients) {
  MessageSummary summary = SummarizeMessage(Fixture("smtputf8.eml"));
  EXPECT_EQ(summary.subject, "Grüße ✓ — 8-bit UTF-8 header");
  // Internationalised addresses stay as written, not punycode.
  EXPECT_EQ(summary.from, "José Müller <josé@exämple.test>");
  EXPECT_EQ(summary.to, "山田 <山田@例え.jp>");
  EXPECT_EQ(summary.message_id, "utf8-1@exämple.test");
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, Undeclared8BitLatin1IsReadAsWindows1252) {
  MessageSummary summary = SummarizeMessage(Fixture("latin1_8bit.eml"));
  EXPECT_EQ(summary.subject, "légende à 8 bits");
  EXPECT_EQ(summary.from, "René <rene@example.fr>");
  EXPECT_THAT(summary.problems, Contains(HasSubstr("not UTF-8: Subject")));
}

TEST(SummarizeMessageTest, MissingHeadersAreProblemsOnlyWhenRequired) {
  MessageSummary summary = SummarizeMessage(Fixture("missing_headers.eml"));
  EXPECT_EQ(summary.subject, "Only a subject");
  EXPECT_EQ(summary.from, "");
  EXPECT_EQ(summary.to, "");
  EXPECT_EQ(summary.message_id, "");
  EXPECT_EQ(summary.date, std::nullopt);
  EXPECT_FALSE(summary.has_attachments);
  EXPECT_THAT(summary.problems,
              ::testing::UnorderedElementsAre("no From header", "no Date header"));
}

TEST(SummarizeMessageTest, UnparseableDateIsAProblem) {
  MessageSummary summary = SummarizeMessage(Fixture("bad_date.eml"));
  EXPECT_EQ(summary.date, std::nullopt);
  EXPECT_THAT(summary.problems, Contains("unparseable Date header: sometime yesterday-ish"));
  EXPECT_EQ(summary.subject, "When?");
}

TEST(SummarizeMessageTest, InvalidAddressesAreProblems) {
  MessageSummary summary = SummarizeMessage(
      "From: ann@example.com\r\nTo: Bob <bob@example.org>, not an address@@, ,\r\n"
      "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n\r\nbody\r\n");
  EXPECT_EQ(summary.to, "Bob <bob@example.org>");
  EXPECT_THAT(summary.problems, Contains(HasSubstr("invalid address list")));
}

TEST(SummarizeMessageTest, NoMessageAtAll) {
  for (const std::string& input : {std::string(), std::string("\0\0\0", 3),
                                   std::string("just a line of text without any header\r\n")}) {
    MessageSummary summary = SummarizeMessage(input);
    EXPECT_EQ(summary.from, "");
    EXPECT_EQ(summary.subject, "");
    EXPECT_FALSE(summary.has_attachments);
    EXPECT_THAT(summary.problems, Contains(HasSubstr("not an RFC 5322 message")))
        << absl::CEscape(input);
  }
}

TEST(SummarizeMessageTest, EmptyHeaderSectionIsAMessageWithoutHeaders) {
  MessageSummary summary = SummarizeMessage("\r\nonly a body\r\n");
  EXPECT_EQ(summary.subject, "");
  EXPECT_THAT(summary.problems,
              ::testing::UnorderedElementsAre("no From header", "no Date header"));
}

TEST(SummarizeMessageTest, GarbageNeverCrashes) {
  std::mt19937 random(20260401);  // fixed seed: the same bytes every run
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 50; ++round) {
    std::string garbage(1 + round * 997, '\0');
    for (char& c : garbage) c = static_cast<char>(byte(random));
    if (round % 3 == 1) garbage = "From: a@example.com\r\nSubject: =?utf-8?B?" + garbage;
    if (round % 3 == 2) {
      garbage = absl::StrCat("From: ", garbage.substr(0, 40), "@x\r\nMessage-ID: <",
                             garbage.substr(40, 40), ">\r\nDate: ", garbage.substr(80, 40), "\r\n",
                             garbage.substr(120));
    }
    MessageSummary summary = SummarizeMessage(garbage);
    // Whatever came out is valid UTF-8 without NUL (it is stored as PostgreSQL text).
    std::vector<std::string> fields = {summary.from, summary.to, summary.cc, summary.subject,
                                       summary.message_id};
    fields.insert(fields.end(), summary.problems.begin(), summary.problems.end());
    for (const std::string& field : fields) {
      EXPECT_TRUE(IsValidText(field)) << absl::CEscape(field);
    }
    for (const std::string& problem : summary.problems) EXPECT_LE(problem.size(), 203u);
  }
  // Headers cut off without an empty line or a final line end.
  MessageSummary cut = SummarizeMessage("From: ann@example.com\r\nSubject: cut");
  EXPECT_EQ(cut.from, "ann@example.com");
  EXPECT_EQ(cut.subject, "cut");
}

TEST(SummarizeMessageTest, DeepNestingIsBoundedAndReported) {
  std::string message = "From: a@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 -0700\r\n";
  constexpr int kDepth = 2000;
  for (int i = 0; i < kDepth; ++i) {
    absl::StrAppend(&message, "Content-Type: multipart/mixed; boundary=\"b", i, "\"\r\n\r\n--b", i,
                    "\r\n");
  }
  absl::StrAppend(&message,
                  "Content-Type: application/octet-stream; name=\"deep.bin\"\r\n\r\nx\r\n");
  MessageSummary summary = SummarizeMessage(message);
  EXPECT_EQ(summary.from, "a@example.com");
  EXPECT_THAT(summary.problems, Contains(HasSubstr("nested too deeply")));
}

TEST(SummarizeMessageTest, ProblemsAreCapped) {
  std::string subject;
  for (int i = 0; i < 500; ++i) absl::StrAppend(&subject, " x =?nope?Q?", i, "?=");
  MessageSummary summary = SummarizeMessage(absl::StrCat(
      "From: a@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 -0700\r\nSubject:", subject,
      "\r\n\r\n"));
  EXPECT_EQ(summary.problems.size(), 21u);
  EXPECT_EQ(summary.problems.back(), "further problems not listed");
  EXPECT_THAT(summary.subject, HasSubstr("x =?nope?Q?499?="));
}

std::string FiveMegabyteMessage() {
  std::string message =
      "From: big@example.com\r\nTo: bob@example.org\r\nSubject: Big one\r\n"
      "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\nMessage-ID: <big@example.com>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big\"\r\n\r\n"
      "--big\r\nContent-Type: text/plain\r\n\r\nA big attachment follows.\r\n"
      "--big\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n";
  const std::string line = std::string(76, 'A') + "\r\n";
  while (message.size() < 5 * 1024 * 1024) message += line;
  message += "--big--\r\n";
  return message;
}

TEST(SummarizeMessageTest, FiveMegabyteMessage) {
  const std::string message = FiveMegabyteMessage();
  ASSERT_GE(message.size(), 5u * 1024 * 1024);
  MessageSummary summary = SummarizeMessage(message);
  EXPECT_EQ(summary.subject, "Big one");
  EXPECT_EQ(summary.message_id, "big@example.com");
  EXPECT_TRUE(summary.has_attachments);
  EXPECT_THAT(summary.problems, IsEmpty());
}

TEST(SummarizeMessageTest, ManyThreadsAtOnce) {
  const std::vector<std::string> names = {
      "simple.eml",        "alternative.eml",          "mixed_attachment.eml",
      "nested.eml",        "inline_image.eml",         "attached_message.eml",
      "encoded_words.eml", "broken_encoded_words.eml", "smtputf8.eml",
      "latin1_8bit.eml",   "missing_headers.eml",      "bad_date.eml"};
  std::vector<std::string> messages;
  std::vector<std::string> expected;
  for (const std::string& name : names) {
    messages.push_back(Fixture(name));
    expected.push_back(Describe(SummarizeMessage(messages.back())));
  }
  const std::string big = FiveMegabyteMessage();
  const std::string big_expected = Describe(SummarizeMessage(big));

  constexpr int kThreads = 8;
  std::vector<std::vector<std::string>> mismatches(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 10; ++round) {
        for (size_t i = 0; i < messages.size(); ++i) {
          // Each thread walks the fixtures from a different starting point.
          size_t k = (i + t) % messages.size();
          std::string got = Describe(SummarizeMessage(messages[k]));
          if (got != expected[k]) mismatches[t].push_back(names[k] + ": " + got);
        }
        if (round == t % 10 && Describe(SummarizeMessage(big)) != big_expected) {
          mismatches[t].push_back("big message");
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_THAT(mismatches[t], IsEmpty()) << "thread " << t;
}

}  // namespace
}  // namespace mailroom::smtp

namespace mailroom::smtp {
namespace {

// The body text that full-text search indexes.
TEST(SummarizeMessageTextBodyTest, PrefersTextPlainAndFallsBackToStrippedHtml) {
  const std::string alternative =
      "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nR=E9initialiser le mot de passe\r\n"
      "--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--b--\r\n";
  const MessageSummary from_plain = SummarizeMessage(alternative);
  EXPECT_THAT(from_plain.text_body, ::testing::HasSubstr("R\xC3\xA9initialiser le mot de passe"));
  EXPECT_THAT(from_plain.text_body, ::testing::Not(::testing::HasSubstr("html version")));

  const std::string html_only =
      "From: a@example.com\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n"
      "<html><style>p{}</style><p>Click <a href='https://x.test/reset'>here</a></p></html>\r\n";
  const MessageSummary from_html = SummarizeMessage(html_only);
  EXPECT_THAT(from_html.text_body, ::testing::HasSubstr("Click"));
  EXPECT_THAT(from_html.text_body, ::testing::HasSubstr("here"));
  EXPECT_THAT(from_html.text_body, ::testing::Not(::testing::HasSubstr("<p>")));
  EXPECT_THAT(from_html.text_body, ::testing::Not(::testing::HasSubstr("p{}")));
}

TEST(SummarizeMessageTextBodyTest, AttachmentsAreNotBodyTextAndTheTextIsCapped) {
  std::string big(3 * kMaxTextBodyBytes, 'w');
  const std::string message =
      "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain; name=notes.txt\r\n"
      "Content-Disposition: attachment; filename=notes.txt\r\n\r\nattached words\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\n" +
      big + "\r\n--b--\r\n";
  const MessageSummary summary = SummarizeMessage(message);
  EXPECT_THAT(summary.text_body, ::testing::Not(::testing::HasSubstr("attached words")));
  EXPECT_LE(summary.text_body.size(), kMaxTextBodyBytes);
  EXPECT_GT(summary.text_body.size(), kMaxTextBodyBytes / 2);
}

}  // namespace
}  // namespace mailroom::smtp
