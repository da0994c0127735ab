// Logger: the process's one log sink, created in main and passed to whatever logs.
//
// Lines go to stderr, either human-readable ("2026-11-22T16:40:00.123Z INFO  message
// key=value") or as JSON lines for log collectors (`log.format: json`). Fields are
// key/value pairs; values are written as given, so callers never pass secrets.
//
// It implements the SMTP engine's logging interface (smtp/engine_log.h), so the engine logs
// through it directly; the levels and fields are the engine's.
//
// Thread-safe: lines from concurrent callers never interleave.
#ifndef MAILROOM_SERVER_LOGGER_H_
#define MAILROOM_SERVER_LOGGER_H_

#include <cstdio>
#include <initializer_list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "smtp/engine_log.h"

namespace mailroom::server {

using LogLevel = smtp::LogSeverity;
enum class LogFormat { kText, kJson };

// A key and its value, already formatted as text.
using LogField = smtp::EngineLog::Field;

class Logger final : public smtp::EngineLog {
 public:
  // Writes to `out` (stderr when null); lines below `level` are dropped.
  Logger(LogLevel level, LogFormat format, std::FILE* out = nullptr);

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, absl::string_view message,
           std::initializer_list<LogField> fields) override;

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
