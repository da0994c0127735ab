// EngineLog: how the SMTP engine writes to the process's log without including server/.
//
// server/ adapts its Logger to this interface and hands it to smtp::Server. The engine logs
// operational events only (listeners started, TLS handshake failures, connection limits,
// accept errors); never message content, AUTH payloads or other secrets, so implementations
// may write the fields as given.
//
// Thread-safety: implementations must accept calls from any thread at once and must not
// block for long (they are called on the I/O threads).
#ifndef MAILROOM_SMTP_ENGINE_LOG_H_
#define MAILROOM_SMTP_ENGINE_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace mailroom::smtp {

enum class LogSeverity { kDebug, kInfo, kWarn, kError };

class EngineLog {
 public:
  // A key and its value, already formatted as text.
  using Field = std::pair<absl::string_view, std::string>;

  virtual ~EngineLog() = default;

  virtual void Log(LogSeverity severity, absl::string_view message,
                   std::initializer_list<Field> fields) = 0;

  void Debug(absl::string_view message, std::initializer_list<Field> fields = {}) {
    Log(LogSeverity::kDebug, message, fields);
  }
  void Info(absl::string_view message, std::initializer_list<Field> fields = {}) {
    Log(LogSeverity::kInfo, message, fields);
  }
  void Warn(absl::string_view message, std::initializer_list<Field> fields = {}) {
    Log(LogSeverity::kWarn, message, fields);
  }
  void Error(absl::string_view message, std::initializer_list<Field> fields = {}) {
    Log(LogSeverity::kError, message, fields);
  }
};

// An EngineLog that drops everything, for callers that pass no log.
EngineLog& DiscardingEngineLog();

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_ENGINE_LOG_H_
