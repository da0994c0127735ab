#include "smtp/data_decoder.h"

#include <string>

#include "gtest/gtest.h"

namespace mailroom::smtp {
namespace {

struct Decoded {
  bool done = false;
  size_t consumed = 0;
  std::string message;
  bool bare = false;
  bool long_line = false;
  bool too_big = false;
  int64_t size = 0;
};

// Feeds `input` in pieces of `step` octets (0: all at once) and stops where the decoder does.
Decoded Decode(absl::string_view input, size_t step = 0,
               DataDecoder::Limits limits = DataDecoder::Limits{}) {
  DataDecoder decoder(limits);
  Decoded result;
  size_t position = 0;
  while (position < input.size() && !decoder.done()) {
    size_t length = step == 0 ? input.size() - position : std::min(step, input.size() - position);
    size_t used = decoder.Feed(input.substr(position, length));
    position += used;
    if (used < length) break;
  }
  result.done = decoder.done();
  result.consumed = position;
  result.bare = decoder.bare_line_ending();
  result.long_line = decoder.line_too_long();
  result.too_big = decoder.too_big();
  result.size = decoder.size();
  result.message = decoder.TakeMessage();
  return result;
}

TEST(DataDecoderTest, EndsAtCrLfDotCrLfAndKeepsTheRest) {
  std::string input = "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n";
  Decoded d = Decode(input);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.message, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(d.consumed, input.size() - 6);
  EXPECT_FALSE(d.bare);
}

TEST(DataDecoderTest, EmptyMessage) {
  Decoded d = Decode(".\r\nNOOP\r\n");
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.message, "");
  EXPECT_EQ(d.consumed, 3u);
}

TEST(DataDecoderTest, DotUnstuffing) {
  Decoded d = Decode("..\r\n...\r\n.x\r\na.b\r\n..\r\n.\r\n");
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.message, ".\r\n..\r\nx\r\na.b\r\n.\r\n");
}

TEST(DataDecoderTest, EveryReadSplitGivesTheSameResult) {
  std::string input = "A: b\r\n\r\n..one\r\n\r\n.\r.x\r\n..\r\n.\r\nNEXT";
  Decoded whole = Decode(input);
  ASSERT_TRUE(whole.done);
  for (size_t step = 1; step <= input.size(); ++step) {
    Decoded d = Decode(input, step);
    EXPECT_TRUE(d.done) << step;
    EXPECT_EQ(d.message, whole.message) << step;
    EXPECT_EQ(d.consumed, whole.consumed) << step;
    EXPECT_EQ(d.bare, whole.bare) << step;
  }
}

TEST(DataDecoderTest, SmugglingPayloadsNeverEndTheData) {
  for (const char* payload :
       {"x\n.\nMAIL FROM:<e@x>\r\n", "x\r.\nMAIL FROM:<e@x>\r\n", "x\n.\r\nMAIL FROM:<e@x>\r\n",
        "x\r\n.\nMAIL FROM:<e@x>\r\n", "x\r\n.\rMAIL FROM:<e@x>\r\n", ".\nMAIL FROM:<e@x>\r\n"}) {
    for (size_t step : {0, 1}) {
      Decoded d = Decode(payload, step);
      EXPECT_FALSE(d.done) << payload;
      EXPECT_TRUE(d.bare) << payload;
      // ...and the real end still works afterwards.
      Decoded ended = Decode(std::string(payload) + ".\r\n", step);
      EXPECT_TRUE(ended.done) << payload;
      EXPECT_TRUE(ended.bare) << payload;
    }
  }
}

TEST(DataDecoderTest, BareLineEndingsAreKeptAsData) {
  Decoded d = Decode("a\nb\rc\r\r\n.\r\n");
  EXPECT_TRUE(d.done);
  EXPECT_TRUE(d.bare);
  EXPECT_EQ(d.message, "a\nb\rc\r\r\n");
}

TEST(DataDecoderTest, CleanMessageHasNoBareLineEnding) {
  EXPECT_FALSE(Decode("a\r\nb\r\n\r\n.\r\n", 1).bare);
}

TEST(DataDecoderTest, LongLineIsFlaggedAndConsumed) {
  DataDecoder::Limits limits{/*max_text_line=*/10, /*max_message_size=*/1000};
  Decoded ok = Decode("12345678\r\n.\r\n", 0, limits);  // 10 octets with CRLF
  EXPECT_FALSE(ok.long_line);
  Decoded d = Decode("123456789\r\nshort\r\n.\r\n", 3, limits);  // 11 octets
  EXPECT_TRUE(d.done);
  EXPECT_TRUE(d.long_line);
  // The dot doubled for transparency is not counted (RFC 5321 §4.5.3.1.6).
  EXPECT_FALSE(Decode("..2345678\r\n.\r\n", 0, limits).long_line);
  EXPECT_TRUE(Decode("..23456789\r\n.\r\n", 0, limits).long_line);
}

TEST(DataDecoderTest, SizeLimitStopsStoringButKeepsReading) {
  DataDecoder::Limits limits{/*max_text_line=*/1000, /*max_message_size=*/10};
  Decoded exact = Decode("12345678\r\n.\r\n", 0, limits);
  EXPECT_FALSE(exact.too_big);
  EXPECT_EQ(exact.message, "12345678\r\n");
  Decoded d = Decode("123456789\r\nmore\r\n.\r\nNOOP", 1, limits);
  EXPECT_TRUE(d.done);
  EXPECT_TRUE(d.too_big);
  EXPECT_EQ(d.message, "");
  EXPECT_EQ(d.size, 17);
}

TEST(DataDecoderTest, DoneConsumesNothingMore) {
  DataDecoder decoder(DataDecoder::Limits{});
  EXPECT_EQ(decoder.Feed(".\r\n"), 3u);
  EXPECT_TRUE(decoder.done());
  EXPECT_EQ(decoder.Feed("more"), 0u);
  EXPECT_EQ(decoder.wire_size(), 3);
}

TEST(DataDecoderTest, BinaryBytesPassThrough) {
  std::string input("\x00\xff\x7f\r\n.\r\n", 8);
  Decoded d = Decode(input);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.message, std::string("\x00\xff\x7f\r\n", 5));
}

}  // namespace
}  // namespace mailroom::smtp
