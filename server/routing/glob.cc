#include "server/routing/glob.h"

#include "absl/strings/ascii.h"

namespace mailroom::server::routing {
namespace {

// The length of the UTF-8 sequence starting at text[i] (1 for a stray byte), so that `?`
// and the `*` walk step over whole characters.
size_t CharLength(absl::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = 1;
  if (lead >= 0xf0) {
    length = 4;
  } else if (lead >= 0xe0) {
    length = 3;
  } else if (lead >= 0xc0) {
    length = 2;
  }
  size_t n = 1;
  while (n < length && i + n < text.size() &&
         (static_cast<unsigned char>(text[i + n]) & 0xc0) == 0x80) {
    ++n;
  }
  return n;
}

}  // namespace

Glob Glob::Compile(absl::string_view pattern, Case case_mode) {
  Glob glob;
  glob.fold_case_ = case_mode == Case::kInsensitive;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*') {
      // Consecutive stars mean what one star means.
      if (glob.tokens_.empty() || glob.tokens_.back().kind != Kind::kAnyRun) {
        glob.tokens_.push_back({Kind::kAnyRun, 0});
      }
      continue;
    }
    if (c == '?') {
      glob.tokens_.push_back({Kind::kAnyOne, 0});
      continue;
    }
    if (c == '\\' && i + 1 < pattern.size()) c = pattern[++i];
    glob.tokens_.push_back({Kind::kLiteral, glob.fold_case_ ? absl::ascii_tolower(c) : c});
  }
  return glob;
}

bool Glob::Matches(absl::string_view text) const {
  size_t t = 0;  // position in text
  size_t p = 0;  // position in tokens_
  // Where to resume after the last `*`: the token after it, and the text it has eaten up to.
  bool have_star = false;
  size_t star_token = 0;
  size_t star_text = 0;
  while (t < text.size()) {
    if (p < tokens_.size()) {
      const Token& token = tokens_[p];
      if (token.kind == Kind::kAnyRun) {
        have_star = true;
        star_token = ++p;
        star_text = t;
        continue;
      }
      if (token.kind == Kind::kAnyOne) {
        t += CharLength(text, t);
        ++p;
        continue;
      }
      const char c = fold_case_ ? absl::ascii_tolower(text[t]) : text[t];
      if (c == token.byte) {
        ++t;
        ++p;
        continue;
      }
    }
    // Mismatch: let the last `*` eat one more character, or fail without one.
    if (!have_star) return false;
    star_text += CharLength(text, star_text);
    t = star_text;
    p = star_token;
  }
  while (p < tokens_.size() && tokens_[p].kind == Kind::kAnyRun) ++p;
  return p == tokens_.size();
}

}  // namespace mailroom::server::routing
