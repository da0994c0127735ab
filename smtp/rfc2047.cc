#include "smtp/rfc2047.h"

#include <glib.h>
#include <gmime/gmime.h>

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "smtp/gmime_ptr.h"

namespace mailroom::smtp {
namespace {

// A piece of the unfolded header value: plain text or one encoded word.
struct Segment {
  bool encoded = false;
  std::string raw;       // the text exactly as in the header
  std::string gap;       // encoded words: the whitespace dropped before it (RFC 2047 §6.2)
  std::string charset;   // encoded words: lower case, without an RFC 2231 language
  std::string bytes;     // encoded words: the decoded octets, in `charset`
  bool decoded = false;  // encoded words: the encoding was valid
};

Segment TextSegment(absl::string_view text) {
  Segment segment;
  segment.raw = std::string(text);
  return segment;
}

bool IsWhitespace(absl::string_view text) {
  for (char c : text) {
    if (c != ' ' && c != '\t') return false;
  }
  return true;
}

bool HasWhitespace(absl::string_view text) {
  return text.find_first_of(" \t\r\n") != absl::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(c) - 'a' + 10;
}

// RFC 2047 §4.2: "_" is a space, "=XX" an octet, anything else itself.
bool DecodeQ(absl::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      out->push_back(' ');
    } else if (text[i] == '=') {
      if (i + 2 >= text.size() || !absl::ascii_isxdigit(text[i + 1]) ||
          !absl::ascii_isxdigit(text[i + 2])) {
        return false;
      }
      out->push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out->push_back(text[i]);
    }
  }
  return true;
}

// RFC 2047 §4.1, tolerating missing '=' padding (a common encoder bug that readers accept).
bool DecodeB(absl::string_view text, std::string* out) {
  for (char c : text) {
    if (!absl::ascii_isalnum(c) && c != '+' && c != '/' && c != '=') return false;
  }
  absl::string_view data = text.substr(0, text.find('='));
  if (text.find_first_not_of('=', data.size()) != absl::string_view::npos) return false;
  if (data.size() % 4 == 1) return false;  // not a whole number of octets
  return absl::Base64Unescape(data, out);
}

// Parses "=?charset?encoding?text?=" at `start` (which holds "=?"). Returns false when the
// text there is not shaped like an encoded word (it is then ordinary text); a word whose
// shape is right but whose contents are not is returned with decoded = false.
bool ParseEncodedWord(absl::string_view value, size_t start, size_t* end, Segment* word) {
  const size_t charset_end = value.find('?', start + 2);
  if (charset_end == absl::string_view::npos || charset_end == start + 2) return false;
  if (charset_end + 2 >= value.size() || value[charset_end + 2] != '?') return false;
  const size_t text_start = charset_end + 3;
  const size_t text_end = value.find("?=", text_start);
  if (text_end == absl::string_view::npos) return false;
  absl::string_view charset = value.substr(start + 2, charset_end - start - 2);
  absl::string_view text = value.substr(text_start, text_end - text_start);
  if (HasWhitespace(charset) || HasWhitespace(text)) return false;

  *end = text_end + 2;
  word->encoded = true;
  word->raw = std::string(value.substr(start, *end - start));
  word->charset = absl::AsciiStrToLower(charset.substr(0, charset.find('*')));
  switch (value[charset_end + 1]) {
    case 'B':
    case 'b':
      word->decoded = DecodeB(text, &word->bytes);
      break;
    case 'Q':
    case 'q':
      word->decoded = DecodeQ(text, &word->bytes);
      break;
    default:
      word->decoded = false;
  }
  return true;
}

// Converts `bytes` from `charset` to UTF-8; nullopt when the charset is unknown or the bytes
// are not valid in it.
std::optional<std::string> ToUtf8(const std::string& bytes, const std::string& charset) {
  if (bytes.find('\0') != std::string::npos) return std::nullopt;
  if (charset == "utf-8" || charset == "utf8" || charset == "us-ascii") {
    // US-ASCII words with 8-bit octets are mislabelled UTF-8 far more often than not.
    if (!g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr)) {
      return std::nullopt;
    }
    return bytes;
  }
  const char* iconv_name = g_mime_charset_iconv_name(charset.c_str());
  if (iconv_name == nullptr) return std::nullopt;
  gsize written = 0;
  GError* error = nullptr;
  GCharPtr converted(g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", iconv_name,
                               nullptr, &written, &error));
  if (error != nullptr) g_error_free(error);
  if (converted == nullptr) return std::nullopt;
  std::string out(converted.get(), written);
  if (out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

// Plain (not encoded) text: UTF-8 as it is, anything else read as windows-1252.
void AppendText(absl::string_view text, std::string* out) {
  if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
    out->append(text.data(), text.size());
    return;
  }
  for (const char* charset : {"WINDOWS-1252", "ISO-8859-1"}) {
    gsize written = 0;
    GCharPtr converted(g_convert(text.data(), static_cast<gssize>(text.size()), "UTF-8", charset,
                                 nullptr, &written, nullptr));
    if (converted != nullptr) {
      out->append(converted.get(), written);
      return;
    }
  }
}

std::vector<Segment> Split(absl::string_view value) {
  std::vector<Segment> segments;
  size_t text_start = 0;
  size_t at = 0;
  while ((at = value.find("=?", at)) != absl::string_view::npos) {
    Segment word;
    size_t end = 0;
    if (!ParseEncodedWord(value, at, &end, &word)) {
      at += 2;
      continue;
    }
    absl::string_view before = value.substr(text_start, at - text_start);
    if (!segments.empty() && segments.back().encoded && IsWhitespace(before)) {
      word.gap = std::string(before);  // between two encoded words: not part of the text
    } else if (!before.empty()) {
      segments.push_back(TextSegment(before));
    }
    segments.push_back(std::move(word));
    at = text_start = end;
  }
  if (text_start < value.size()) {
    segments.push_back(TextSegment(value.substr(text_start)));
  }
  return segments;
}

}  // namespace

DecodedHeader DecodeUnstructuredHeader(absl::string_view raw_value) {
  // RFC 5322 §2.2.3: unfolding removes the line breaks and keeps the whitespace after them.
  std::string unfolded = absl::StrReplaceAll(raw_value, {{"\r", ""}, {"\n", ""}});
  std::vector<Segment> segments = Split(absl::StripAsciiWhitespace(unfolded));

  DecodedHeader decoded;
  bool after_raw_word = false;  // a dropped gap is kept next to a word shown raw
  for (size_t i = 0; i < segments.size();) {
    const Segment& first = segments[i];
    if (!first.encoded) {
      AppendText(first.raw, &decoded.text);
      after_raw_word = false;
      ++i;
      continue;
    }
    // A run of adjacent, well-formed words in one charset converts as one byte string.
    size_t run_end = i + 1;
    std::string bytes = first.bytes;
    if (first.decoded) {
      while (run_end < segments.size() && segments[run_end].encoded && segments[run_end].decoded &&
             segments[run_end].charset == first.charset) {
        bytes += segments[run_end].bytes;
        ++run_end;
      }
    }
    std::optional<std::string> text = first.decoded ? ToUtf8(bytes, first.charset) : std::nullopt;
    if (text.has_value()) {
      if (after_raw_word) decoded.text += first.gap;
      decoded.text += *text;
      after_raw_word = false;
    } else {
      for (size_t j = i; j < run_end; ++j) {
        if (j > 0 && segments[j - 1].encoded) decoded.text += segments[j].gap;
        AppendText(segments[j].raw, &decoded.text);
        decoded.problems.push_back(absl::StrCat("undecodable encoded word ", segments[j].raw,
                                                segments[j].decoded
                                                    ? " (unknown charset or bytes invalid in it)"
                                                    : " (malformed encoding)"));
      }
      after_raw_word = true;
    }
    i = run_end;
  }
  return decoded;
}

}  // namespace mailroom::smtp
