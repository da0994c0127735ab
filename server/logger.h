// Logger: the process's one log sink, created in main and passed to whatever logs.
//
// Lines go to stderr, either human-readable ("2026-11-22T16:40:00.123Z INFO  message
// key=value") or as JSON lines for log collectors (`log.format: json`). Fields are
// key/value pairs; values are written as given, so callers never pass secrets.
//
// Thread-safe: lines from concurrent callers never interleave.
#ifndef MAILROOM_SERVER_LOGGER_H_
#define MAILROOM_SERVER_LOGGER_H_

#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::server {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

// A key and its value, already formatted as text.
using LogField = std::pair<absl::string_view, std::string>;

class Logger {
 public:
  // Writes to `out` (stderr when null); lines below `level` are dropped.
  Logger(LogLevel level, LogFormat format, std::FILE* out = nullptr);

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
  void Debug(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warn(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kWarn, message, fields);
  }
  void Error(absl::string_view message, std::initializer_list<LogField> fields = {}) {
    Log(LogLevel::kError, message, fields);
  }

  bool Enabled(LogLevel level) const { return level >= level_; }

 private:
  std::string FormatText(LogLevel level, absl::string_view message,
                         std::initializer_list<LogField> fields) const;
  std::string FormatJson(LogLevel level, absl::string_view message,
                         std::initializer_list<LogField> fields) const;

  const LogLevel level_;
  const LogFormat format_;
  std::FILE* const out_;
  absl::Mutex mutex_;  // Serialises whole lines.
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_LOGGER_H_
