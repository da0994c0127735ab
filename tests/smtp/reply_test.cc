#include "smtp/reply.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

TEST(ReplyTest, EveryNameHasItsOwnRow) {
  // kGreeting is the fallback of the table lookup, so every other name must not produce it.
  for (int i = static_cast<int>(ReplyId::kHelo); i <= static_cast<int>(ReplyId::kMessageTooBig);
       ++i) {
    Reply reply = MakeReply(static_cast<ReplyId>(i));
    EXPECT_EQ(reply.id, static_cast<ReplyId>(i));
    EXPECT_FALSE(reply.code == 220 && reply.text == " ESMTP Mailroom") << i;
  }
}

TEST(ReplyTest, EnhancedCodeClassMatchesBasicCode) {
  // RFC 3463 §2: the class digit of the enhanced code equals the first digit of the reply.
  for (int i = 0; i <= static_cast<int>(ReplyId::kMessageTooBig); ++i) {
    Reply reply = MakeReply(static_cast<ReplyId>(i));
    if (reply.enhanced.empty()) continue;
    EXPECT_EQ(reply.enhanced[0] - '0', reply.code / 100) << reply.ToString();
  }
}

TEST(ReplyTest, FormatsWithAndWithoutEnhancedCode) {
  EXPECT_EQ(MakeReply(ReplyId::kNeedMail).ToString(), "503 5.5.1 Send MAIL first\r\n");
  EXPECT_EQ(MakeReply(ReplyId::kGreeting, "mx.test").ToString(), "220 mx.test ESMTP Mailroom\r\n");
  EXPECT_EQ(MakeReply(ReplyId::kAuthChallenge, "").ToString(), "334 \r\n");
}

TEST(ReplyTest, Multiline) {
  EXPECT_EQ(FormatMultiline(250, {"a", "b", "c"}), "250-a\r\n250-b\r\n250 c\r\n");
  EXPECT_EQ(FormatMultiline(250, {"only"}), "250 only\r\n");
}

TEST(ReplyTest, DeliveryFailureIsNever2xx) {
  EXPECT_EQ(ReplyForDelivery(absl::OkStatus(), "id-1").ToString(),
            "250 2.0.0 Ok: queued as id-1\r\n");
  for (absl::Status status : {absl::UnavailableError("x"), absl::UnknownError("in doubt"),
                              absl::ResourceExhaustedError("disk"), absl::AbortedError("x")}) {
    EXPECT_EQ(ReplyForDelivery(status, "id-1").id, ReplyId::kNotStored);
  }
}

TEST(ReplyTest, AuthenticationMapping) {
  EXPECT_EQ(ReplyForAuthentication(absl::OkStatus()).id, ReplyId::kAuthSucceeded);
  EXPECT_EQ(ReplyForAuthentication(absl::UnauthenticatedError("x")).id, ReplyId::kAuthFailed);
  EXPECT_EQ(ReplyForAuthentication(absl::UnavailableError("x")).id, ReplyId::kAuthUnavailable);
}

TEST(ReplyTest, ErrorsCounted) {
  EXPECT_TRUE(CountsAsError(ReplyId::kUnknownCommand));
  EXPECT_TRUE(CountsAsError(ReplyId::kNeedMail));
  EXPECT_TRUE(CountsAsError(ReplyId::kAuthFailed));
  EXPECT_FALSE(CountsAsError(ReplyId::kOk));
  EXPECT_FALSE(CountsAsError(ReplyId::kNotStored));
  EXPECT_FALSE(CountsAsError(ReplyId::kMessageTooBig));
}

}  // namespace
}  // namespace mailroom::smtp
