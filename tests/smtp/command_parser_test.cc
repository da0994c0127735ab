#include "smtp/command_parser.h"

#include <string>
#include <variant>

#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

template <typename T>
ReplyId RejectionOf(const ParseResult<T>& result) {
  const Rejection* rejection = std::get_if<Rejection>(&result);
  return rejection ? rejection->reply : ReplyId::kOk;
}

MailCommand MailOk(absl::string_view args) {
  auto result = ParseMail(args);
  EXPECT_TRUE(std::holds_alternative<MailCommand>(result)) << args;
  if (auto* mail = std::get_if<MailCommand>(&result)) return *mail;
  return {};
}

RcptCommand RcptOk(absl::string_view args, bool smtputf8 = false) {
  auto result = ParseRcpt(args, smtputf8);
  EXPECT_TRUE(std::holds_alternative<RcptCommand>(result)) << args;
  if (auto* rcpt = std::get_if<RcptCommand>(&result)) return *rcpt;
  return {};
}

TEST(SplitCommandTest, VerbsAreCaseInsensitive) {
  EXPECT_EQ(SplitCommand("ehlo x").verb, Verb::kEhlo);
  EXPECT_EQ(SplitCommand("Helo x").verb, Verb::kHelo);
  EXPECT_EQ(SplitCommand("MAIL FROM:<>").verb, Verb::kMail);
  EXPECT_EQ(SplitCommand("rcpt TO:<a@b>").verb, Verb::kRcpt);
  EXPECT_EQ(SplitCommand("DATA").verb, Verb::kData);
  EXPECT_EQ(SplitCommand("BDAT 1 LAST").verb, Verb::kBdat);
  EXPECT_EQ(SplitCommand("RSET").verb, Verb::kRset);
  EXPECT_EQ(SplitCommand("NOOP").verb, Verb::kNoop);
  EXPECT_EQ(SplitCommand("quit").verb, Verb::kQuit);
  EXPECT_EQ(SplitCommand("VRFY x").verb, Verb::kVrfy);
  EXPECT_EQ(SplitCommand("HELP").verb, Verb::kHelp);
  EXPECT_EQ(SplitCommand("StartTLS").verb, Verb::kStartTls);
  EXPECT_EQ(SplitCommand("AUTH PLAIN").verb, Verb::kAuth);
  EXPECT_EQ(SplitCommand("EXPN x").verb, Verb::kExpn);
  EXPECT_EQ(SplitCommand("MAILX").verb, Verb::kUnknown);
  EXPECT_EQ(SplitCommand("").verb, Verb::kUnknown);
  EXPECT_EQ(SplitCommand(" MAIL").verb, Verb::kUnknown);
}

TEST(SplitCommandTest, ArgumentsLoseTrailingSpaces) {
  EXPECT_EQ(SplitCommand("EHLO  x  \t").arguments, " x");
  EXPECT_EQ(SplitCommand("DATA ").arguments, "");
  EXPECT_EQ(SplitCommand("DATA").arguments, "");
}

TEST(ParseHeloTest, AcceptsOneToken) {
  EXPECT_EQ(std::get<std::string>(ParseHelo("client.example")), "client.example");
  EXPECT_EQ(std::get<std::string>(ParseHelo("[192.0.2.1]")), "[192.0.2.1]");
  EXPECT_EQ(RejectionOf(ParseHelo("")), ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseHelo("two words")), ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseHelo("ctl\x01")), ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseHelo("bad\xff")), ReplyId::kSyntax);
}

TEST(ParseMailTest, Paths) {
  EXPECT_EQ(MailOk("FROM:<alice@example.com>").reverse_path, "alice@example.com");
  EXPECT_EQ(MailOk("from:<alice@example.com>").reverse_path, "alice@example.com");
  EXPECT_EQ(MailOk("FROM: <alice@example.com>").reverse_path, "alice@example.com");
  EXPECT_EQ(MailOk("FROM:<>").reverse_path, "");
  EXPECT_EQ(MailOk("FROM:<\"a b>c\"@example.com>").reverse_path, "\"a b>c\"@example.com");
  EXPECT_EQ(MailOk("FROM:<\"q\\\"x\"@example.com>").reverse_path, "\"q\\\"x\"@example.com");
  EXPECT_EQ(MailOk("FROM:<a.b+tag@[192.0.2.1]>").reverse_path, "a.b+tag@[192.0.2.1]");
  EXPECT_EQ(MailOk("FROM:<a@[IPv6:2001:db8::1]>").reverse_path, "a@[IPv6:2001:db8::1]");
  EXPECT_EQ(MailOk("FROM:<a@[x-tag:anything]>").reverse_path, "a@[x-tag:anything]");
  EXPECT_EQ(MailOk("FROM:<@r1.example,@r2.example:a@b.example>").reverse_path, "a@b.example");
}

TEST(ParseMailTest, BadPaths) {
  for (const char* args :
       {"FROM:alice@example.com", "FROM:<alice@example.com", "FROM:<alice>", "FROM:<@example.com>",
        "FROM:<a..b@example.com>", "FROM:<.a@example.com>", "FROM:<a.@example.com>",
        "FROM:<a@example..com>", "FROM:<a@-example.com>", "FROM:<a@example-.com>",
        "FROM:<a@[300.1.1.1]>", "FROM:<a@[IPv6:zz]>", "FROM:<a b@example.com>",
        "FROM:<\"unterminated@example.com>", "FROM:<a@example.com>x", "FROM:<postmaster>",
        "FROM:<@r1.example:>", "FROM:<a@example.com\x01>"}) {
    EXPECT_EQ(RejectionOf(ParseMail(args)), ReplyId::kBadSenderSyntax) << args;
  }
  EXPECT_EQ(RejectionOf(ParseMail("TO:<a@b.example>")), ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseMail("")), ReplyId::kSyntax);
}

TEST(ParseMailTest, Lengths) {
  std::string local64(64, 'a');
  EXPECT_EQ(MailOk("FROM:<" + local64 + "@example.com>").reverse_path, local64 + "@example.com");
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<" + local64 + "a@example.com>")),
            ReplyId::kBadSenderSyntax);
  std::string label63(63, 'd');
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<a@" + label63 + "d.example>")), ReplyId::kBadSenderSyntax);
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += label63 + ".";
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<a@" + long_domain + "com>")), ReplyId::kBadSenderSyntax);
}

TEST(ParseMailTest, Parameters) {
  MailCommand mail =
      MailOk("FROM:<a@b.example> size=1234 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=x+2B1 AUTH=<>");
  EXPECT_EQ(mail.size, 1234);
  EXPECT_EQ(mail.body, "8BITMIME");
  EXPECT_TRUE(mail.smtputf8);
  EXPECT_EQ(mail.ret, "HDRS");
  EXPECT_EQ(mail.envid, "x+2B1");
  EXPECT_EQ(mail.auth, "<>");
  EXPECT_EQ(MailOk("FROM:<a@b.example> BODY=BINARYMIME").body, "BINARYMIME");
  EXPECT_EQ(MailOk("FROM:<a@b.example> BODY=7BIT").body, "7BIT");
  EXPECT_EQ(MailOk("FROM:<a@b.example> SIZE=99999999999999999999").size, INT64_MAX);
  EXPECT_FALSE(MailOk("FROM:<a@b.example>").size.has_value());
}

TEST(ParseMailTest, BadParameters) {
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<a@b.example> FOO=1")), ReplyId::kUnknownParameter);
  EXPECT_EQ(std::get<Rejection>(ParseMail("FROM:<a@b.example> foo")).argument, "FOO");
  for (const char* args :
       {"FROM:<a@b.example> SIZE=", "FROM:<a@b.example> SIZE=-1", "FROM:<a@b.example> SIZE=1x",
        "FROM:<a@b.example> SIZE", "FROM:<a@b.example> SIZE=123456789012345678901",
        "FROM:<a@b.example> SIZE=1 SIZE=1", "FROM:<a@b.example> BODY=9BIT",
        "FROM:<a@b.example> SMTPUTF8=1", "FROM:<a@b.example> SMTPUTF8 SMTPUTF8",
        "FROM:<a@b.example> RET=ALL", "FROM:<a@b.example> ENVID=a+zz",
        "FROM:<a@b.example> ENVID=a+2", "FROM:<a@b.example> =x", "FROM:<a@b.example> -X=1",
        "FROM:<a@b.example> AUTH=a+g0"}) {
    EXPECT_EQ(RejectionOf(ParseMail(args)), ReplyId::kSyntax) << args;
  }
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<a@b.example> ENVID=" + std::string(101, 'e'))),
            ReplyId::kSyntax);
}

TEST(ParseMailTest, Utf8NeedsSmtpUtf8) {
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<j\xc3\xb6rg@example.com>")), ReplyId::kNonAsciiAddress);
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<a@b\xc3\xbc"
                                  "cher.example>")),
            ReplyId::kNonAsciiAddress);
  EXPECT_EQ(MailOk("FROM:<j\xc3\xb6rg@b\xc3\xbc"
                   "cher.example> SMTPUTF8")
                .reverse_path,
            "j\xc3\xb6rg@b\xc3\xbc"
            "cher.example");
  EXPECT_EQ(MailOk("FROM:<\"\xc3\xb6 x\"@example.com> SMTPUTF8").reverse_path,
            "\"\xc3\xb6 x\"@example.com");
  // Malformed UTF-8 is bad syntax even with SMTPUTF8.
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<j\xc3@example.com> SMTPUTF8")), ReplyId::kBadSenderSyntax);
  EXPECT_EQ(RejectionOf(ParseMail("FROM:<\xed\xa0\x80@example.com> SMTPUTF8")),
            ReplyId::kBadSenderSyntax);
}

TEST(ParseRcptTest, PathsAndParameters) {
  EXPECT_EQ(RcptOk("TO:<bob@example.net>").forward_path, "bob@example.net");
  EXPECT_EQ(RcptOk("to: <bob@example.net>").forward_path, "bob@example.net");
  EXPECT_EQ(RcptOk("TO:<Postmaster>").forward_path, "Postmaster");
  EXPECT_EQ(RcptOk("TO:<@relay.example:bob@example.net>").forward_path, "bob@example.net");
  RcptCommand rcpt = RcptOk("TO:<bob@example.net> NOTIFY=success,delay ORCPT=rfc822;bob+40x");
  EXPECT_EQ(rcpt.notify, "SUCCESS,DELAY");
  EXPECT_EQ(rcpt.orcpt, "rfc822;bob+40x");
  EXPECT_EQ(RcptOk("TO:<bob@example.net> NOTIFY=NEVER").notify, "NEVER");
}

TEST(ParseRcptTest, Rejections) {
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<>", false)), ReplyId::kBadRecipientSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:bob@example.net", false)), ReplyId::kBadRecipientSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("FROM:<bob@example.net>", false)), ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<bob@example.net> NOTIFY=NEVER,DELAY", false)),
            ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<bob@example.net> NOTIFY=SOMETIMES", false)),
            ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<bob@example.net> ORCPT=nosemicolon", false)),
            ReplyId::kSyntax);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<bob@example.net> SIZE=1", false)),
            ReplyId::kUnknownParameter);
  EXPECT_EQ(RejectionOf(ParseRcpt("TO:<b\xc3\xb6"
                                  "b@example.net>",
                                  false)),
            ReplyId::kNonAsciiAddress);
  EXPECT_EQ(RcptOk("TO:<b\xc3\xb6"
                   "b@example.net>",
                   true)
                .forward_path,
            "b\xc3\xb6"
            "b@example.net");
}

TEST(ParseBdatTest, SizesAndLast) {
  auto bdat = std::get<BdatCommand>(ParseBdat("1024"));
  EXPECT_EQ(bdat.size, 1024);
  EXPECT_FALSE(bdat.last);
  bdat = std::get<BdatCommand>(ParseBdat("0 last"));
  EXPECT_EQ(bdat.size, 0);
  EXPECT_TRUE(bdat.last);
  for (const char* args :
       {"", "x", "-1", "1 FIRST", "1 LAST x", "1  LAST", "1234567890123456789"}) {
    EXPECT_EQ(RejectionOf(ParseBdat(args)), ReplyId::kSyntax) << args;
  }
}

TEST(ParseAuthTest, MechanismAndInitialResponse) {
  auto auth = std::get<AuthCommand>(ParseAuth("plain AHVAcA=="));
  EXPECT_EQ(auth.mechanism, "PLAIN");
  EXPECT_EQ(auth.initial_response, "AHVAcA==");
  auth = std::get<AuthCommand>(ParseAuth("CRAM-MD5"));
  EXPECT_EQ(auth.mechanism, "CRAM-MD5");
  EXPECT_FALSE(auth.initial_response.has_value());
  for (const char* args : {"", "PLAIN a b", "BAD!MECH", "ABCDEFGHIJKLMNOPQRSTU"}) {
    EXPECT_EQ(RejectionOf(ParseAuth(args)), ReplyId::kSyntax) << args;
  }
}

TEST(CheckMailboxTest, Cases) {
  EXPECT_EQ(CheckMailbox("a@b", false), MailboxStatus::kOk);
  EXPECT_EQ(CheckMailbox("!#$%&'*+-/=?^_`{|}~@example.com", false), MailboxStatus::kOk);
  EXPECT_EQ(CheckMailbox("\"\"@example.com", false), MailboxStatus::kOk);
  EXPECT_EQ(CheckMailbox("a@1.2.3.4", false), MailboxStatus::kOk);
  EXPECT_EQ(CheckMailbox("a@[1.2.3]", false), MailboxStatus::kBadSyntax);
  EXPECT_EQ(CheckMailbox("a@", false), MailboxStatus::kBadSyntax);
  EXPECT_EQ(CheckMailbox("@b", false), MailboxStatus::kBadSyntax);
  EXPECT_EQ(CheckMailbox("a@b@c", false), MailboxStatus::kBadSyntax);
  EXPECT_EQ(CheckMailbox("\"a\"b@c", false), MailboxStatus::kBadSyntax);
  EXPECT_EQ(CheckMailbox("\xc3\xa9@c", false), MailboxStatus::kNeedsSmtpUtf8);
  EXPECT_EQ(CheckMailbox("\xc3\xa9@c", true), MailboxStatus::kOk);
}

TEST(Utf8Test, Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
}

}  // namespace
}  // namespace mailroom::smtp
