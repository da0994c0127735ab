// "Did you mean ...?" for misspelt setting names.
//
// Used by the binder (binder.h) when a YAML key or --set flag names no setting, and by the
// loader for unknown MAILROOM_* environment variables. Keys are dotted paths
// ("smtp.relay.password"). Pure functions: thread-safe.

#ifndef MAILROOM_SERVER_CONFIG_SUGGEST_H_
#define MAILROOM_SERVER_CONFIG_SUGGEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mailroom::config {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// adjacent characters each cost 1 (a swap is the most common typing slip).
int EditDistance(absl::string_view a, absl::string_view b);

// The candidate closest to `unknown` by edit distance, if it is close enough to be a likely
// typo (at most one edit per four characters of `unknown`, and at least 1); ties go to the earlier
// candidate. Returns nullopt when nothing is close.
std::optional<std::string> ClosestText(absl::string_view unknown,
                                       const std::vector<std::string>& candidates);

// The known key that `unknown` (a dotted path) most likely meant, trying in turn: the closest
// of the whole paths, or of the last components of the keys in the same section, whichever
// is nearer; else the only key elsewhere with exactly the same last component (a setting put
// in the wrong section). Returns nullopt when nothing is close.
std::optional<std::string> ClosestKey(absl::string_view unknown,
                                      const std::vector<std::string>& known_keys);

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_SUGGEST_H_
