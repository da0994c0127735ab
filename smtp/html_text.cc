#include "smtp/html_text.h"

#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace mailroom::smtp {
namespace {

void AppendUtf8(std::string& out, uint32_t code) {
  if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

// Decodes the reference at html[i] == '&' into `out`; returns the bytes consumed.
size_t DecodeReference(absl::string_view html, size_t i, std::string& out) {
  const size_t semi = html.find(';', i);
  if (semi == absl::string_view::npos || semi - i > 10) {
    out.push_back('&');
    return 1;
  }
  const absl::string_view name = html.substr(i + 1, semi - i - 1);
  uint32_t code = 0;
  if (name == "amp") {
    code = '&';
  } else if (name == "lt") {
    code = '<';
  } else if (name == "gt") {
    code = '>';
  } else if (name == "quot") {
    code = '"';
  } else if (name == "apos") {
    code = '\'';
  } else if (name == "nbsp") {
    code = ' ';
  } else if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    if (!(hex ? absl::SimpleHexAtoi(name.substr(2), &code)
              : absl::SimpleAtoi(name.substr(1), &code))) {
      code = 0;
    }
  }
  if (code == 0) {
    out.push_back('&');
    return 1;
  }
  AppendUtf8(out, code);
  return semi - i + 1;
}

// Returns the lower-cased tag name of the tag starting at html[i] == '<'.
std::string TagName(absl::string_view html, size_t i) {
  size_t j = i + 1;
  if (j < html.size() && html[j] == '/') ++j;
  std::string name;
  while (j < html.size() && absl::ascii_isalnum(html[j])) {
    name.push_back(absl::ascii_tolower(html[j]));
    ++j;
  }
  return name;
}

}  // namespace

std::string HtmlToText(absl::string_view html, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < html.size() && out.size() < max_bytes) {
    const char c = html[i];
    if (c == '&') {
      i += DecodeReference(html, i, out);
      continue;
    }
    if (c != '<') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      const size_t end = html.find("-->", i + 4);
      i = end == absl::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const std::string name = TagName(html, i);
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    const size_t end = html.find('>', i);
    i = end == absl::string_view::npos ? html.size() : end + 1;
    if (!closing && (name == "script" || name == "style")) {
      // Skip to the matching end tag, whatever it contains.
      const std::string close = "</" + name;
      size_t pos = i;
      while (pos < html.size()) {
        pos = html.find("</", pos);
        if (pos == absl::string_view::npos) break;
        if (absl::EqualsIgnoreCase(html.substr(pos, close.size()), close)) break;
        pos += 2;
      }
      if (pos == absl::string_view::npos || pos >= html.size()) {
        i = html.size();
      } else {
        const size_t close_end = html.find('>', pos);
        i = close_end == absl::string_view::npos ? html.size() : close_end + 1;
      }
      continue;
    }
    // Any tag separates words: "<td>a</td><td>b</td>" is two words, not "ab".
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  }
  return out;
}

}  // namespace mailroom::smtp
