// Tests of smtp/mime_message.h, the full reading of a stored message behind GetMessage and
// GetMessagePart: header fields in order (raw and decoded: RFC 2047 in several charsets,
// RFC 2231 parameters), the MIME tree and its part ids, bodies converted to UTF-8, the
// attachment list, ExtractMimePart, ParseAddressList, and malformed input that still
// yields what can be read plus the parse problems.
//
// Messages are written inline with LF line ends and given to the parser with CRLF, as SMTP
// delivers them.

#include "smtp/mime_message.h"

#include <glib.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;
using ::testing::SizeIs;

std::string Crlf(absl::string_view text) { return absl::StrReplaceAll(text, {{"\n", "\r\n"}}); }

bool IsValidText(const std::string& text) {
  return text.find('\0') == std::string::npos &&
         g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr);
}

// Every string of `node` and its descendants is valid UTF-8 (the protobuf contract).
void ExpectValidTree(const MimeNode& node) {
  EXPECT_TRUE(IsValidText(node.content_type)) << node.part_id;
  EXPECT_TRUE(IsValidText(node.filename)) << node.part_id;
  for (const MimeHeader& h : node.headers) {
    EXPECT_TRUE(IsValidText(h.name) && IsValidText(h.value) && IsValidText(h.raw_value))
        << node.part_id << " " << h.name;
  }
  for (const MimeNode& child : node.parts) ExpectValidTree(child);
}

// The part ids of the tree in depth-first order.
void CollectIds(const MimeNode& node, std::vector<std::string>& ids) {
  ids.push_back(node.part_id);
  for (const MimeNode& child : node.parts) CollectIds(child, ids);
}

const MimeHeader* FindHeader(const std::vector<MimeHeader>& headers, absl::string_view name) {
  for (const MimeHeader& h : headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::vector<std::string> Names(const std::vector<MimeHeader>& headers) {
  std::vector<std::string> names;
  for (const MimeHeader& h : headers) names.push_back(h.name);
  return names;
}

TEST(ParseMimeMessageTest, HeadersInOrderRawAndDecodedInSeveralCharsets) {
  const std::string raw = Crlf(
      "Received: from client.example by mx.example;\n"
      " Sat, 21 Nov 2026 10:00:00 +0000\n"
      "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\n"
      "To: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?= <koeln@example.com>\n"
      "Subject: =?KOI8-R?B?8NLJ18XU?= and\n"
      " =?ISO-2022-JP?B?GyRCMnE1RCROMEZGYhsoQg==?=\n"
      "X-Quote: =?windows-1252?B?k1F1b3RlZJQggDU=?=\n"
      "X-Custom: first\n"
      "X-Custom: second\n"
      "Date: Sat, 21 Nov 2026 10:00:00 +0100\n"
      "Message-ID: <abc.123@example.com>\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=us-ascii\n"
      "\n"
      "Hello.\n");
  const ParsedMessage m = ParseMimeMessage(raw);

  EXPECT_THAT(Names(m.headers),
              ElementsAre("Received", "From", "To", "Subject", "X-Quote", "X-Custom", "X-Custom",
                          "Date", "Message-ID", "MIME-Version", "Content-Type"));
  const MimeHeader* received = FindHeader(m.headers, "Received");
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->raw_value,
            " from client.example by mx.example;\r\n Sat, 21 Nov 2026 10:00:00 +0000");
  EXPECT_EQ(received->value, "from client.example by mx.example; Sat, 21 Nov 2026 10:00:00 +0000");

  const MimeHeader* subject = FindHeader(m.headers, "Subject");
  ASSERT_NE(subject, nullptr);
  EXPECT_THAT(subject->raw_value, HasSubstr("=?KOI8-R?B?8NLJ18XU?="));
  EXPECT_EQ(subject->value, "Привет and 会議の案内");
  EXPECT_EQ(m.subject, "Привет and 会議の案内");
  EXPECT_EQ(FindHeader(m.headers, "X-Quote")->value, "“Quoted” €5");
  EXPECT_EQ(FindHeader(m.headers, "To")->value, "Grüße aus Köln <koeln@example.com>");

  ASSERT_THAT(m.from, SizeIs(1));
  EXPECT_EQ(m.from[0].name, "André");
  EXPECT_EQ(m.from[0].address, "andre@example.com");
  ASSERT_THAT(m.to, SizeIs(1));
  EXPECT_EQ(m.to[0].name, "Grüße aus Köln");
  EXPECT_THAT(m.cc, IsEmpty());
  EXPECT_EQ(m.message_id, "abc.123@example.com");
  EXPECT_THAT(m.date, Optional(absl::FromCivil(absl::CivilSecond(2026, 11, 21, 9, 0, 0),
                                               absl::UTCTimeZone())));
  EXPECT_EQ(m.root.part_id, "1");
  EXPECT_EQ(m.root.content_type, "text/plain");
  EXPECT_EQ(m.root.charset, "us-ascii");
  EXPECT_THAT(m.root.headers, IsEmpty());  // the root's fields are ParsedMessage::headers
  EXPECT_EQ(m.text_body, "Hello.\r\n");
  EXPECT_EQ(m.text_body_part_id, "1");
  EXPECT_THAT(m.attachments, IsEmpty());
}

TEST(ParseMimeMessageTest, Rfc2231ParametersAreDecoded) {
  const std::string raw = Crlf(
      "From: a@example.com\n"
      "Subject: parameters\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\n"
      "\n"
      "--b1\n"
      "Content-Type: text/plain\n"
      "\n"
      "See attached.\n"
      "--b1\n"
      "Content-Type: application/pdf; name*=UTF-8''%E2%82%AC%20rates.pdf\n"
      "Content-Disposition: attachment;\n"
      " filename*=UTF-8''%E2%82%AC%20rates.pdf\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "JVBERi0=\n"
      "--b1\n"
      "Content-Type: text/csv\n"
      "Content-Disposition: attachment; filename*0=\"quarterly-\";\n"
      " filename*1=\"figures.csv\"\n"
      "\n"
      "a,b\n"
      "--b1--\n");
  const ParsedMessage m = ParseMimeMessage(raw);
  ASSERT_THAT(m.root.parts, SizeIs(3));

  const MimeNode& pdf = m.root.parts[1];
  EXPECT_EQ(pdf.part_id, "1.2");
  EXPECT_EQ(pdf.filename, "€ rates.pdf");
  EXPECT_EQ(pdf.disposition, MimeDisposition::kAttachment);
  EXPECT_EQ(pdf.transfer_encoding, "base64");
  EXPECT_EQ(pdf.size_bytes, 5);  // "%PDF-" decoded
  const MimeHeader* disposition = FindHeader(pdf.headers, "Content-Disposition");
  ASSERT_NE(disposition, nullptr);
  EXPECT_THAT(disposition->raw_value, HasSubstr("filename*=UTF-8''%E2%82%AC%20rates.pdf"));
  EXPECT_THAT(disposition->value, HasSubstr("€ rates.pdf"));
  EXPECT_THAT(disposition->value, HasSubstr("attachment"));

  EXPECT_EQ(m.root.parts[2].filename, "quarterly-figures.csv");
  EXPECT_THAT(m.attachments,
              ElementsAre(Field(&MimeAttachment::filename, "€ rates.pdf"),
                          Field(&MimeAttachment::filename, "quarterly-figures.csv")));
}

constexpr char kNested[] =
    "From: Nest <nest@example.com>\n"
    "To: you@example.com\n"
    "Subject: nested\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9 au lait\n"
    "--alt\n"
    "Content-Type: multipart/related; boundary=\"rel\"\n"
    "\n"
    "--rel\n"
    "Content-Type: text/html; charset=koi8-r\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "<p>\xf0\xd2\xc9\xd7\xc5\xd4 \xcd\xc9\xd2</p><img src=\"cid:logo@x\">\n"
    "--rel\n"
    "Content-Type: image/png\n"
    "Content-ID: <logo@x>\n"
    "Content-Disposition: inline\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "iVBORw0KGgo=\n"
    "--rel--\n"
    "--alt--\n"
    "--outer\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "{BINARY}\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@example.com\n"
    "Subject: the forwarded one\n"
    "Content-Type: text/plain; charset=windows-1252\n"
    "\n"
    "inner body \x80\n"
    "--outer--\n";

// 256 bytes 0x00..0xFF, the content of the data.bin attachment.
std::string AllBytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

std::string NestedMessage() {
  return Crlf(absl::StrReplaceAll(kNested, {{"{BINARY}", absl::Base64Escape(AllBytes())}}));
}

TEST(ParseMimeMessageTest, NestedMultipartTreeAndPartIds) {
  const ParsedMessage m = ParseMimeMessage(NestedMessage());
  std::vector<std::string> ids;
  CollectIds(m.root, ids);
  EXPECT_THAT(
      ids, ElementsAre("1", "1.1", "1.1.1", "1.1.2", "1.1.2.1", "1.1.2.2", "1.2", "1.3", "1.3.1"));
  EXPECT_EQ(m.root.content_type, "multipart/mixed");
  EXPECT_EQ(m.root.parts[0].content_type, "multipart/alternative");
  EXPECT_EQ(m.root.parts[0].parts[1].content_type, "multipart/related");

  const MimeNode& image = m.root.parts[0].parts[1].parts[1];
  EXPECT_EQ(image.content_type, "image/png");
  EXPECT_EQ(image.content_id, "logo@x");
  EXPECT_EQ(image.disposition, MimeDisposition::kInline);
  EXPECT_EQ(image.size_bytes, 8);  // the PNG signature

  const MimeNode& forwarded = m.root.parts[2];
  EXPECT_EQ(forwarded.content_type, "message/rfc822");
  ASSERT_THAT(forwarded.parts, SizeIs(1));
  EXPECT_EQ(forwarded.parts[0].part_id, "1.3.1");
  EXPECT_EQ(forwarded.parts[0].charset, "windows-1252");
  // The embedded message's node shows the embedded message's own header block.
  const MimeHeader* inner_subject = FindHeader(forwarded.parts[0].headers, "Subject");
  ASSERT_NE(inner_subject, nullptr);
  EXPECT_EQ(inner_subject->value, "the forwarded one");
  // Child nodes carry their own header fields.
  EXPECT_NE(FindHeader(m.root.parts[1].headers, "Content-Disposition"), nullptr);
  ExpectValidTree(m.root);
}

TEST(ParseMimeMessageTest, BodiesAreConvertedToUtf8FromTheirCharsets) {
  const ParsedMessage m = ParseMimeMessage(NestedMessage());
  EXPECT_EQ(m.text_body_part_id, "1.1.1");
  // The line break before a boundary belongs to the boundary (RFC 2046 §5.1.1).
  EXPECT_EQ(m.text_body, "café au lait");
  EXPECT_EQ(m.html_body_part_id, "1.1.2.1");
  EXPECT_THAT(m.html_body, HasSubstr("<p>Привет мир</p>"));
  // The forwarded message's body is not the message's body.
  EXPECT_THAT(m.text_body, Not(HasSubstr("inner body")));
}

TEST(ParseMimeMessageTest, WindowsCharsetBodyIsConverted) {
  const ParsedMessage m =
      ParseMimeMessage(Crlf("From: a@example.com\n"
                            "Content-Type: text/plain; charset=windows-1252\n"
                            "\n"
                            "price \x80 5, \x93quoted\x94\n"));
  EXPECT_EQ(m.text_body, "price € 5, “quoted”\r\n");
}

TEST(ParseMimeMessageTest, AttachmentsListInTreeOrder) {
  const ParsedMessage m = ParseMimeMessage(NestedMessage());
  ASSERT_THAT(m.attachments, SizeIs(2));
  EXPECT_EQ(m.attachments[0].part_id, "1.1.2.2");
  EXPECT_EQ(m.attachments[0].content_type, "image/png");
  EXPECT_EQ(m.attachments[0].content_id, "logo@x");
  EXPECT_EQ(m.attachments[0].disposition, MimeDisposition::kInline);
  EXPECT_EQ(m.attachments[1].part_id, "1.2");
  EXPECT_EQ(m.attachments[1].filename, "data.bin");
  EXPECT_EQ(m.attachments[1].content_type, "application/octet-stream");
  EXPECT_EQ(m.attachments[1].size_bytes, 256);
  EXPECT_EQ(m.attachments[1].disposition, MimeDisposition::kAttachment);
}

TEST(ExtractMimePartTest, Base64PartIsDecodedByteForByte) {
  const absl::StatusOr<MimePartContent> part = ExtractMimePart(NestedMessage(), "1.2");
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->data, AllBytes());
  EXPECT_EQ(part->part.part_id, "1.2");
  EXPECT_EQ(part->part.filename, "data.bin");
  EXPECT_EQ(part->part.size_bytes, 256);
  EXPECT_THAT(part->part.parts, IsEmpty());
  EXPECT_NE(FindHeader(part->part.headers, "Content-Transfer-Encoding"), nullptr);
}

TEST(ExtractMimePartTest, QuotedPrintableKeepsItsCharset) {
  const absl::StatusOr<MimePartContent> part = ExtractMimePart(NestedMessage(), "1.1.1");
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->data, "caf\xe9 au lait");  // transfer encoding undone, ISO-8859-1 kept
  EXPECT_EQ(part->part.charset, "iso-8859-1");
}

TEST(ExtractMimePartTest, EmbeddedMessageComesBackAsAMessage) {
  const absl::StatusOr<MimePartContent> part = ExtractMimePart(NestedMessage(), "1.3");
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_THAT(part->data, HasSubstr("Subject: the forwarded one"));
  EXPECT_THAT(part->data, HasSubstr("inner body"));
}

TEST(ExtractMimePartTest, ContainersAndUnknownPartsAreErrors) {
  EXPECT_EQ(ExtractMimePart(NestedMessage(), "1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExtractMimePart(NestedMessage(), "1.1").status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* id : {"1.9", "1.2.1", "2", "", "x", "1.0", "1..2"}) {
    EXPECT_EQ(ExtractMimePart(NestedMessage(), id).status().code(), absl::StatusCode::kNotFound)
        << "part `" << id << "`";
  }
}

TEST(ExtractMimePartTest, RootOfASinglePartMessage) {
  const absl::StatusOr<MimePartContent> part = ExtractMimePart(
      Crlf("From: a@example.com\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"), "1");
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->data, "hello");
}

TEST(ParseAddressListTest, MailboxesGroupsAndEncodedNames) {
  const std::vector<MailAddress> list = ParseAddressList(
      "Ann Smith <ann@example.com>, bob@example.org, Team: carol@example.net, "
      "\"Dave, Jr.\" <dave@example.com>;, =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>");
  ASSERT_THAT(list, SizeIs(5));
  EXPECT_EQ(list[0].name, "Ann Smith");
  EXPECT_EQ(list[0].address, "ann@example.com");
  EXPECT_EQ(list[1].name, "");
  EXPECT_EQ(list[1].address, "bob@example.org");
  EXPECT_EQ(list[2].address, "carol@example.net");
  EXPECT_EQ(list[3].name, "Dave, Jr.");
  EXPECT_EQ(list[3].address, "dave@example.com");
  EXPECT_EQ(list[4].name, "Jürgen");
  EXPECT_EQ(list[4].address, "j@example.de");
}

TEST(ParseAddressListTest, EmptyAndUnparseableInput) {
  EXPECT_THAT(ParseAddressList(""), IsEmpty());
  const std::vector<MailAddress> list = ParseAddressList("ann@example.com, <<<>>>");
  ASSERT_THAT(list, Not(IsEmpty()));
  EXPECT_EQ(list[0].address, "ann@example.com");
  for (const MailAddress& a : list) EXPECT_TRUE(IsValidText(a.name) && IsValidText(a.address));
}

TEST(ParseMimeMessageTest, MalformedMessageReturnsWhatParsesAndTheProblems) {
  // No closing boundary, a part with broken base64, a header line without a colon and
  // 8-bit bytes that are not UTF-8.
  const std::string raw = Crlf(
      "From: Broken <broken@example.com>\n"
      "Subject: still readable \xff\xfe\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"never-closed\"\n"
      "\n"
      "--never-closed\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "\n"
      "first part text\n"
      "--never-closed\n"
      "Content-Type: application/pdf; name=\"x.pdf\"\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "!!!! not base64 ####\n");
  const ParsedMessage m = ParseMimeMessage(raw);
  EXPECT_THAT(m.subject, HasSubstr("still readable"));
  EXPECT_TRUE(IsValidText(m.subject));
  ASSERT_THAT(m.from, SizeIs(1));
  EXPECT_EQ(m.from[0].address, "broken@example.com");
  EXPECT_EQ(m.root.content_type, "multipart/mixed");
  ASSERT_THAT(m.root.parts, SizeIs(2));
  EXPECT_EQ(m.text_body, "first part text");
  EXPECT_EQ(m.text_body_part_id, "1.1");
  EXPECT_THAT(m.attachments, ElementsAre(Field(&MimeAttachment::filename, "x.pdf")));
  EXPECT_THAT(m.problems, Not(IsEmpty()));
  for (const MimeProblem& p : m.problems) EXPECT_TRUE(IsValidText(p.description));
  for (const MimeHeader& h : m.headers) EXPECT_TRUE(IsValidText(h.value)) << h.name;
  ExpectValidTree(m.root);
}

TEST(ParseMimeMessageTest, MultipartWithoutBoundaryIsAProblemNotAFailure) {
  const ParsedMessage m =
      ParseMimeMessage(Crlf("From: a@example.com\n"
                            "Subject: no boundary\n"
                            "Content-Type: multipart/mixed\n"
                            "\n"
                            "just text\n"));
  EXPECT_EQ(m.subject, "no boundary");
  EXPECT_THAT(m.problems, Not(IsEmpty()));
}

TEST(ParseMimeMessageTest, NoMessageAtAllIsAnEmptyTextRootWithAProblem) {
  for (const std::string& raw : {std::string(), std::string("\r\n"), std::string(64, '\0')}) {
    const ParsedMessage m = ParseMimeMessage(raw);
    EXPECT_EQ(m.root.part_id, "1");
    EXPECT_EQ(m.root.content_type, "text/plain");
    EXPECT_THAT(m.root.parts, IsEmpty());
    ExpectValidTree(m.root);
    for (const MimeHeader& h : m.headers) EXPECT_TRUE(IsValidText(h.value));
  }
  EXPECT_THAT(ParseMimeMessage("").problems, Not(IsEmpty()));
}

}  // namespace
}  // namespace mailroom::smtp
