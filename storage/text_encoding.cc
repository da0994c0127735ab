#include "storage/text_encoding.h"

#include <cstdint>
#include <utility>

namespace mailroom::storage {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Returns the length of the well-formed UTF-8 sequence at bytes[i] (1..4), or 0 when the
// byte there does not start one. NUL counts as not well-formed (see the header). The ranges
// are those of RFC 3629 §4, which exclude overlong forms, surrogates and code points above
// U+10FFFF.
size_t SequenceLength(absl::string_view bytes, size_t i) {
  const auto byte = [&](size_t k) -> uint8_t {
    return i + k < bytes.size() ? static_cast<uint8_t>(bytes[i + k]) : 0;
  };
  const auto tail = [](uint8_t b) { return b >= 0x80 && b <= 0xBF; };
  const uint8_t b0 = byte(0);
  if (b0 >= 0x01 && b0 <= 0x7F) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return tail(byte(1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const uint8_t b1 = byte(1);
    const bool second_ok = b0 == 0xE0   ? (b1 >= 0xA0 && b1 <= 0xBF)
                           : b0 == 0xED ? (b1 >= 0x80 && b1 <= 0x9F)
                                        : tail(b1);
    return second_ok && tail(byte(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const uint8_t b1 = byte(1);
    const bool second_ok = b0 == 0xF0   ? (b1 >= 0x90 && b1 <= 0xBF)
                           : b0 == 0xF4 ? (b1 >= 0x80 && b1 <= 0x8F)
                                        : tail(b1);
    return second_ok && tail(byte(2)) && tail(byte(3)) ? 4 : 0;
  }
  return 0;
}

// Calls emit(piece) for consecutive pieces of `bytes` after clean-up: runs of valid UTF-8 as
// they are, and kReplacement for each rejected byte.
template <typename Emit>
void ForEachCleanPiece(absl::string_view bytes, Emit emit) {
  size_t run_start = 0;
  size_t i = 0;
  while (i < bytes.size()) {
    const size_t length = SequenceLength(bytes, i);
    if (length != 0) {
      i += length;
      continue;
    }
    if (i > run_start) emit(bytes.substr(run_start, i - run_start));
    emit(kReplacement);
    ++i;
    run_start = i;
  }
  if (i > run_start) emit(bytes.substr(run_start, i - run_start));
}

void AppendArrayElement(std::string& out, absl::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

std::string SanitizeUtf8(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  ForEachCleanPiece(bytes,
                    [&](absl::string_view piece) { out.append(piece.data(), piece.size()); });
  return out;
}

void AppendJsonString(std::string& out, absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + bytes.size() + 2);
  out.push_back('"');
  ForEachCleanPiece(bytes, [&](absl::string_view piece) {
    for (char c : piece) {
      const auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        default:
          if (u < 0x20) {
            out.append("\\u00");
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0xF]);
          } else {
            out.push_back(c);
          }
      }
    }
  });
  out.push_back('"');
}

void PgArrayBuilder::Separate() {
  if (!empty_) literal_.push_back(',');
  empty_ = false;
}

void PgArrayBuilder::Add(absl::string_view value) {
  Separate();
  AppendArrayElement(literal_, value);
}

void PgArrayBuilder::AddText(absl::string_view value) {
  Separate();
  literal_.push_back('"');
  ForEachCleanPiece(value, [&](absl::string_view piece) {
    for (char c : piece) {
      if (c == '"' || c == '\\') literal_.push_back('\\');
      literal_.push_back(c);
    }
  });
  literal_.push_back('"');
}

void PgArrayBuilder::AddNull() {
  Separate();
  literal_.append("NULL");
}

std::string PgArrayBuilder::Finish() && {
  literal_.push_back('}');
  return std::move(literal_);
}

}  // namespace mailroom::storage
