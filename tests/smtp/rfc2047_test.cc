// Tests of smtp/rfc2047.h: encoded-word decoding of unstructured header values.

#include "smtp/rfc2047.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smtp/gmime_init.h"

namespace mailroom::smtp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class DecodeUnstructuredHeaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { EnsureGMimeInitialized(); }
};

TEST_F(DecodeUnstructuredHeaderTest, PlainTextIsUnfoldedAndTrimmed) {
  DecodedHeader decoded = DecodeUnstructuredHeader("  Hello\r\n  world \r\n");
  EXPECT_EQ(decoded.text, "Hello  world");
  EXPECT_THAT(decoded.problems, IsEmpty());
}

TEST_F(DecodeUnstructuredHeaderTest, QAndBEncodings) {
  EXPECT_EQ(DecodeUnstructuredHeader("=?utf-8?q?caf=C3=A9_au_lait?=").text, "café au lait");
  EXPECT_EQ(DecodeUnstructuredHeader("=?UTF-8?B?Y2Fmw6k=?=").text, "café");
  // Missing base64 padding is tolerated.
  EXPECT_EQ(DecodeUnstructuredHeader("=?UTF-8?B?Y2Fmw6k?=").text, "café");
}

TEST_F(DecodeUnstructuredHeaderTest, WhitespaceBetweenEncodedWordsIsDropped) {
  EXPECT_EQ(DecodeUnstructuredHeader("=?utf-8?q?a?= \r\n =?utf-8?q?b?=").text, "ab");
  // ... but not between an encoded word and plain text.
  EXPECT_EQ(DecodeUnstructuredHeader("=?utf-8?q?a?= b =?utf-8?q?c?=").text, "a b c");
}

TEST_F(DecodeUnstructuredHeaderTest, CharactersSplitAcrossWordsDecode) {
  // "ü" is C3 BC in UTF-8; each word alone is invalid.
  EXPECT_EQ(DecodeUnstructuredHeader("=?utf-8?q?M=C3?= =?utf-8?q?=BCller?=").text, "Müller");
}

TEST_F(DecodeUnstructuredHeaderTest, LanguageSuffixAndCharsetAliases) {
  EXPECT_EQ(DecodeUnstructuredHeader("=?iso-8859-1*fr?q?fran=E7ais?=").text, "français");
  EXPECT_EQ(DecodeUnstructuredHeader("=?latin1?q?fran=E7ais?=").text, "français");
}

TEST_F(DecodeUnstructuredHeaderTest, EncodedWordInsideAWord) {
  EXPECT_EQ(DecodeUnstructuredHeader("pre=?utf-8?q?fix?=post").text, "prefixpost");
}

TEST_F(DecodeUnstructuredHeaderTest, BrokenWordsKeepRawTextAndTheirSpacing) {
  DecodedHeader decoded =
      DecodeUnstructuredHeader("=?utf-8?q?ok?= =?bogus?q?x?= =?utf-8?b?a?= =?utf-8?x?y?=");
  EXPECT_EQ(decoded.text, "ok =?bogus?q?x?= =?utf-8?b?a?= =?utf-8?x?y?=");
  EXPECT_THAT(decoded.problems, ElementsAre(HasSubstr("=?bogus?q?x?= (unknown charset"),
                                            HasSubstr("=?utf-8?b?a?= (malformed"),
                                            HasSubstr("=?utf-8?x?y?= (malformed")));
}

TEST_F(DecodeUnstructuredHeaderTest, NulIsNeverDecoded) {
  DecodedHeader decoded = DecodeUnstructuredHeader("a =?utf-8?q?=00?= b");
  EXPECT_EQ(decoded.text, "a =?utf-8?q?=00?= b");
  EXPECT_EQ(decoded.problems.size(), 1u);
}

TEST_F(DecodeUnstructuredHeaderTest, NotEncodedWords) {
  // Spaces inside, or no closing "?=": ordinary text.
  EXPECT_EQ(DecodeUnstructuredHeader("=?utf-8?q?a b?=").text, "=?utf-8?q?a b?=");
  EXPECT_EQ(DecodeUnstructuredHeader("1 =? 2").text, "1 =? 2");
  EXPECT_THAT(DecodeUnstructuredHeader("=?utf-8?q?a b?=").problems, IsEmpty());
}

TEST_F(DecodeUnstructuredHeaderTest, Undeclared8BitText) {
  EXPECT_EQ(DecodeUnstructuredHeader("Gr\xc3\xbc\xc3\x9f"
                                     "e")
                .text,
            "Grüße");
  EXPECT_EQ(DecodeUnstructuredHeader("caf\xe9 \x80").text, "café €");
  // 0x81 is undefined in windows-1252: ISO-8859-1 then.
  EXPECT_EQ(DecodeUnstructuredHeader("a\x81").text, "a\xc2\x81");
}

}  // namespace
}  // namespace mailroom::smtp
