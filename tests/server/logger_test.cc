#include "server/logger.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mailroom::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Captures what a Logger writes, through a memory-backed FILE.
class Captured {
 public:
  Captured() : file_(open_memstream(&buffer_, &size_)) {}
  ~Captured() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* file() { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

TEST(LoggerTest, TextLinesCarryTimeLevelMessageAndFields) {
  Captured out;
  Logger logger(LogLevel::kInfo, LogFormat::kText, out.file());
  logger.Info("gRPC API listening", {{"address", "127.0.0.1:50051"}, {"note", "two words"}});
  EXPECT_THAT(out.text(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO  gRPC API listening "
                           "address=127.0.0.1:50051 note=\"two words\"\n"));
}

TEST(LoggerTest, JsonLinesEscapeEverything) {
  Captured out;
  Logger logger(LogLevel::kDebug, LogFormat::kJson, out.file());
  logger.Warn("a \"quoted\"\nline", {{"path", "C:\\x"}, {"ctl", std::string(1, '\x01')}});
  const std::string line = out.text();
  EXPECT_THAT(line, HasSubstr(R"("level":"warn","msg":"a \"quoted\"\nline")"));
  EXPECT_THAT(line, HasSubstr(R"("path":"C:\\x")"));
  EXPECT_THAT(line, HasSubstr(R"("ctl":"\u0001"})"));
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // One event, one line.
}

TEST(LoggerTest, LinesBelowTheLevelAreDropped) {
  Captured out;
  Logger logger(LogLevel::kWarn, LogFormat::kText, out.file());
  logger.Info("hidden");
  logger.Debug("hidden too");
  logger.Error("shown");
  EXPECT_THAT(out.text(), ::testing::Not(HasSubstr("hidden")));
  EXPECT_THAT(out.text(), HasSubstr("ERROR shown"));
}

}  // namespace
}  // namespace mailroom::server
