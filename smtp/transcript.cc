#include "smtp/transcript.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "smtp/command_parser.h"

namespace mailroom::smtp {

Transcript::Transcript(absl::Time started_at, std::function<absl::Time()> now)
    : started_at_(started_at), now_(std::move(now)) {}

std::string Transcript::Sanitize(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    unsigned char c = bytes[i];
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c >= 0x80) {
      // Keep a well-formed UTF-8 sequence whole; escape a stray byte.
      size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      absl::string_view sequence = bytes.substr(i, length);
      if (length > 1 && sequence.size() == length && IsValidUtf8(sequence)) {
        out.append(sequence.data(), sequence.size());
        i += length;
      } else {
        absl::StrAppendFormat(&out, "\\x%02X", c);
        ++i;
      }
    } else {
      absl::StrAppendFormat(&out, "\\x%02X", c);
      ++i;
    }
  }
  return out;
}

void Transcript::Add(TranscriptLine::Direction direction, absl::string_view text) {
  if (lines_.size() >= kMaxLines) {
    ++dropped_;
    return;
  }
  absl::Duration offset = (now_ ? now_() : absl::Now()) - started_at_;
  if (lines_.size() + 1 == kMaxLines) {
    lines_.push_back({offset, TranscriptLine::Direction::kInfo,
                      "transcript limit reached; further lines are not recorded"});
    ++dropped_;
    return;
  }
  std::string line = Sanitize(text);
  if (line.size() > kMaxLineLength) {
    size_t original = text.size();
    line.resize(kMaxLineLength);
    absl::StrAppend(&line, "... <", original, " octets>");
  }
  lines_.push_back({offset, direction, std::move(line)});
}

void Transcript::Client(absl::string_view line) { Add(TranscriptLine::Direction::kClient, line); }

void Transcript::Server(absl::string_view replies) {
  while (!replies.empty()) {
    size_t end = replies.find("\r\n");
    absl::string_view line = replies.substr(0, end);
    Add(TranscriptLine::Direction::kServer, line);
    if (end == absl::string_view::npos) break;
    replies.remove_prefix(end + 2);
  }
}

void Transcript::Info(absl::string_view text) { Add(TranscriptLine::Direction::kInfo, text); }

std::vector<TranscriptLine> Transcript::Take() {
  if (dropped_ > 0 && !lines_.empty()) {
    absl::StrAppend(&lines_.back().text, " (", dropped_, " lines)");
    dropped_ = 0;
  }
  return std::exchange(lines_, {});
}

std::string Transcript::Format(const TranscriptLine& line) {
  return absl::StrCat(std::string(1, static_cast<char>(line.direction)), ": ", line.text);
}

}  // namespace mailroom::smtp
