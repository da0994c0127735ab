#include "server/logger.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mailroom::server {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
}

// JSON string escaping for log lines: quotes, backslashes and control characters.
void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// Text values with spaces or quotes are quoted so that a line stays parseable by eye.
void AppendTextValue(std::string& out, absl::string_view value) {
  if (!value.empty() && value.find_first_of(" \"=\t\n") == absl::string_view::npos) {
    out.append(value.data(), value.size());
    return;
  }
  AppendJsonString(out, value);
}

}  // namespace

Logger::Logger(LogLevel level, LogFormat format, std::FILE* out)
    : level_(level), format_(format), out_(out != nullptr ? out : stderr) {}

void Logger::Log(LogLevel level, absl::string_view message,
                 std::initializer_list<LogField> fields) {
  if (!Enabled(level)) return;
  std::string line = format_ == LogFormat::kJson ? FormatJson(level, message, fields)
                                                 : FormatText(level, message, fields);
  line.push_back('\n');
  absl::MutexLock lock(&mutex_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

std::string Logger::FormatText(LogLevel level, absl::string_view message,
                               std::initializer_list<LogField> fields) const {
  std::string level_name(LevelName(level));
  for (char& c : level_name) c = static_cast<char>(c - 'a' + 'A');
  level_name.resize(5, ' ');
  std::string line = absl::StrCat(Timestamp(), " ", level_name, " ", message);
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, " ", key, "=");
    AppendTextValue(line, value);
  }
  return line;
}

std::string Logger::FormatJson(LogLevel level, absl::string_view message,
                               std::initializer_list<LogField> fields) const {
  std::string line =
      absl::StrCat(R"({"time":")", Timestamp(), R"(","level":")", LevelName(level), R"(","msg":)");
  AppendJsonString(line, message);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  line.push_back('}');
  return line;
}

}  // namespace mailroom::server
