#include "smtp/sasl.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

using Kind = SaslExchange::Step::Kind;

TEST(Base64Test, RoundTripAndStrictness) {
  EXPECT_EQ(EncodeBase64(""), "");
  EXPECT_EQ(EncodeBase64("f"), "Zg==");
  EXPECT_EQ(EncodeBase64("fo"), "Zm8=");
  EXPECT_EQ(EncodeBase64("foo"), "Zm9v");
  EXPECT_EQ(EncodeBase64(std::string("\0user\0pass", 10)), "AHVzZXIAcGFzcw==");
  EXPECT_EQ(DecodeBase64("Zg=="), "f");
  EXPECT_EQ(DecodeBase64("Zm8="), "fo");
  EXPECT_EQ(DecodeBase64("Zm9vYmFy"), "foobar");
  EXPECT_EQ(DecodeBase64(""), "");
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v=", "Zm 9v", "Zm9v\n",
                          "Zg==Zg==", "Zh==", "Zm9=", "Zm!v", "=Zm9"}) {
    EXPECT_FALSE(DecodeBase64(bad).has_value()) << bad;
  }
}

TEST(SaslMechanismTest, Names) {
  EXPECT_EQ(ParseSaslMechanism("plain"), SaslMechanism::kPlain);
  EXPECT_EQ(ParseSaslMechanism("LOGIN"), SaslMechanism::kLogin);
  EXPECT_EQ(ParseSaslMechanism("Cram-Md5"), SaslMechanism::kCramMd5);
  EXPECT_FALSE(ParseSaslMechanism("GSSAPI").has_value());
  EXPECT_EQ(SaslMechanismName(SaslMechanism::kCramMd5), "CRAM-MD5");
}

TEST(SaslPlainTest, InitialResponse) {
  SaslExchange exchange(SaslMechanism::kPlain, "");
  auto step = exchange.Start(EncodeBase64(std::string("admin\0user\0secret", 17)));
  ASSERT_EQ(step.kind, Kind::kDone);
  EXPECT_EQ(step.credentials.mechanism, "PLAIN");
  EXPECT_EQ(step.credentials.authorization_id, "admin");
  EXPECT_EQ(step.credentials.username, "user");
  EXPECT_EQ(step.credentials.password, "secret");
}

TEST(SaslPlainTest, EmptyChallengeThenResponse) {
  SaslExchange exchange(SaslMechanism::kPlain, "");
  auto step = exchange.Start(std::nullopt);
  ASSERT_EQ(step.kind, Kind::kChallenge);
  EXPECT_EQ(step.challenge, "");
  step = exchange.Respond("AHVzZXIAcGFzcw==");
  ASSERT_EQ(step.kind, Kind::kDone);
  EXPECT_EQ(step.credentials.username, "user");
  EXPECT_EQ(step.credentials.password, "pass");
}

TEST(SaslPlainTest, Errors) {
  EXPECT_EQ(SaslExchange(SaslMechanism::kPlain, "").Start("=").rejection, ReplyId::kAuthMalformed);
  EXPECT_EQ(SaslExchange(SaslMechanism::kPlain, "").Start("dXNlcg==").rejection,
            ReplyId::kAuthMalformed);  // "user": no NULs
  EXPECT_EQ(SaslExchange(SaslMechanism::kPlain, "").Start("AHVzZXIA").rejection,
            ReplyId::kAuthMalformed);  // empty password
  EXPECT_EQ(SaslExchange(SaslMechanism::kPlain, "").Start("AHVzZXIAcGFzcw").rejection,
            ReplyId::kAuthBadBase64);
  SaslExchange exchange(SaslMechanism::kPlain, "");
  exchange.Start(std::nullopt);
  auto step = exchange.Respond("*");
  EXPECT_EQ(step.kind, Kind::kRejected);
  EXPECT_EQ(step.rejection, ReplyId::kAuthCancelled);
}

TEST(SaslLoginTest, TwoPrompts) {
  SaslExchange exchange(SaslMechanism::kLogin, "");
  auto step = exchange.Start(std::nullopt);
  ASSERT_EQ(step.kind, Kind::kChallenge);
  EXPECT_EQ(step.challenge, "VXNlcm5hbWU6");  // "Username:"
  step = exchange.Respond(EncodeBase64("user"));
  ASSERT_EQ(step.kind, Kind::kChallenge);
  EXPECT_EQ(step.challenge, "UGFzc3dvcmQ6");  // "Password:"
  step = exchange.Respond(EncodeBase64("secret"));
  ASSERT_EQ(step.kind, Kind::kDone);
  EXPECT_EQ(step.credentials.mechanism, "LOGIN");
  EXPECT_EQ(step.credentials.username, "user");
  EXPECT_EQ(step.credentials.password, "secret");
}

TEST(SaslLoginTest, InitialResponseIsTheUserName) {
  SaslExchange exchange(SaslMechanism::kLogin, "");
  auto step = exchange.Start(EncodeBase64("user"));
  ASSERT_EQ(step.kind, Kind::kChallenge);
  EXPECT_EQ(step.challenge, "UGFzc3dvcmQ6");
  step = exchange.Respond("=");
  ASSERT_EQ(step.kind, Kind::kDone);
  EXPECT_EQ(step.credentials.username, "user");
  EXPECT_EQ(step.credentials.password, "");
}

TEST(SaslLoginTest, CancelAtPasswordAndBadBase64) {
  SaslExchange exchange(SaslMechanism::kLogin, "");
  exchange.Start(std::nullopt);
  EXPECT_EQ(exchange.Respond("!!!!").rejection, ReplyId::kAuthBadBase64);
  SaslExchange other(SaslMechanism::kLogin, "");
  other.Start(EncodeBase64("user"));
  EXPECT_EQ(other.Respond("*").rejection, ReplyId::kAuthCancelled);
}

// RFC 2195 §2 example: secret "tanstaaftanstaaf".
constexpr char kRfc2195Challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
constexpr char kRfc2195Digest[] = "b913a602c7eda7a495b4e6e7334d3890";

TEST(SaslCramMd5Test, Rfc2195Exchange) {
  SaslExchange exchange(SaslMechanism::kCramMd5, kRfc2195Challenge);
  auto step = exchange.Start(std::nullopt);
  ASSERT_EQ(step.kind, Kind::kChallenge);
  EXPECT_EQ(step.challenge, "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
  step = exchange.Respond("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  ASSERT_EQ(step.kind, Kind::kDone);
  EXPECT_EQ(step.credentials.mechanism, "CRAM-MD5");
  EXPECT_EQ(step.credentials.username, "tim");
  EXPECT_EQ(step.credentials.challenge, kRfc2195Challenge);
  EXPECT_EQ(step.credentials.digest, kRfc2195Digest);
  EXPECT_TRUE(step.credentials.password.empty());
  EXPECT_TRUE(
      VerifyCramMd5("tanstaaftanstaaf", step.credentials.challenge, step.credentials.digest));
}

TEST(SaslCramMd5Test, Verify) {
  EXPECT_TRUE(VerifyCramMd5("tanstaaftanstaaf", kRfc2195Challenge, kRfc2195Digest));
  EXPECT_TRUE(
      VerifyCramMd5("tanstaaftanstaaf", kRfc2195Challenge, "B913A602C7EDA7A495B4E6E7334D3890"));
  EXPECT_FALSE(VerifyCramMd5("wrong", kRfc2195Challenge, kRfc2195Digest));
  EXPECT_FALSE(VerifyCramMd5("tanstaaftanstaaf", "<other@x>", kRfc2195Digest));
  EXPECT_FALSE(VerifyCramMd5("tanstaaftanstaaf", kRfc2195Challenge, "b913"));
}

TEST(SaslCramMd5Test, Errors) {
  EXPECT_EQ(SaslExchange(SaslMechanism::kCramMd5, "<c@h>").Start("dGlt").rejection,
            ReplyId::kAuthMalformed);
  for (const char* answer : {"tim", "tim b913", " b913a602c7eda7a495b4e6e7334d3890",
                             "tim z913a602c7eda7a495b4e6e7334d3890"}) {
    SaslExchange exchange(SaslMechanism::kCramMd5, "<c@h>");
    exchange.Start(std::nullopt);
    EXPECT_EQ(exchange.Respond(EncodeBase64(answer)).rejection, ReplyId::kAuthMalformed) << answer;
  }
}

TEST(SaslCramMd5Test, ChallengeShape) {
  std::string a = MakeCramMd5Challenge("mx.example", absl::FromUnixSeconds(1700000000));
  std::string b = MakeCramMd5Challenge("mx.example", absl::FromUnixSeconds(1700000000));
  EXPECT_TRUE(absl::StartsWith(a, "<"));
  EXPECT_TRUE(absl::EndsWith(a, ".1700000000@mx.example>")) << a;
  EXPECT_NE(a, b);  // random part
}

}  // namespace
}  // namespace mailroom::smtp
