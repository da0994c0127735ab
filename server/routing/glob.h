// Glob: the wildcard patterns of routing rules (AddressCondition.glob and the fields that
// refer to it): `*` matches any run of characters (including none), `?` one character (one
// UTF-8 code point), `\` makes the next character literal; every other character matches
// itself. Case-insensitive globs fold ASCII letters only (addresses and host names are ASCII;
// non-ASCII text is compared exactly).
//
// Matching is the greedy wildcard walk that backtracks to the last `*` only, so it takes at
// most O(pattern × text) steps: no pattern can stall routing.
//
// Immutable after Compile(); thread-safe.
#ifndef MAILROOM_SERVER_ROUTING_GLOB_H_
#define MAILROOM_SERVER_ROUTING_GLOB_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mailroom::server::routing {

class Glob {
 public:
  enum class Case { kSensitive, kInsensitive };

  Glob() = default;

  // REQUIRES: CheckGlob(pattern) is OK (a trailing unpaired `\` is taken literally).
  static Glob Compile(absl::string_view pattern, Case case_mode);

  // True when the whole of `text` matches.
  bool Matches(absl::string_view text) const;

 private:
  enum class Kind : char { kLiteral, kAnyOne, kAnyRun };
  struct Token {
    Kind kind;
    char byte;  // kLiteral: one byte (folded when case-insensitive)
  };

  std::vector<Token> tokens_;
  bool fold_case_ = false;
};

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_GLOB_H_
