#include "server/config/suggest.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mailroom::config {
namespace {

// Farthest a candidate may be from `unknown` and still be suggested: one slip per four
// characters. A third is too loose: TEST_DATABASE_URL would "mean" DATABASE_URL.
int Tolerance(absl::string_view unknown) {
  return std::max<int>(1, static_cast<int>(unknown.size()) / 4);
}

absl::string_view Section(absl::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == absl::string_view::npos ? absl::string_view() : key.substr(0, dot);
}

absl::string_view LastComponent(absl::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == absl::string_view::npos ? key : key.substr(dot + 1);
}

struct Match {
  int distance;
  const std::string* key;
};

}  // namespace

int EditDistance(absl::string_view a, absl::string_view b) {
  // Three rolling rows: the swap rule looks two rows back.
  const size_t m = b.size();
  std::vector<int> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= m; ++j) {
      const int substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

std::optional<std::string> ClosestText(absl::string_view unknown,
                                       const std::vector<std::string>& candidates) {
  std::optional<Match> best;
  for (const std::string& candidate : candidates) {
    const int distance = EditDistance(unknown, candidate);
    if (distance > Tolerance(unknown)) continue;
    if (!best || distance < best->distance) best = Match{distance, &candidate};
  }
  if (!best) return std::nullopt;
  return *best->key;
}

std::optional<std::string> ClosestKey(absl::string_view unknown,
                                      const std::vector<std::string>& known_keys) {
  const absl::string_view section = Section(unknown);
  const absl::string_view last = LastComponent(unknown);
  std::optional<Match> best;
  auto consider = [&best](int distance, int tolerance, const std::string& key) {
    if (distance > tolerance) return;
    if (!best || distance < best->distance) best = Match{distance, &key};
  };
  for (const std::string& key : known_keys) {
    consider(EditDistance(unknown, key), Tolerance(unknown), key);
    if (Section(key) == section) {
      consider(EditDistance(last, LastComponent(key)), Tolerance(last), key);
    }
  }
  if (best) return *best->key;

  // No typo in sight: maybe the right name in the wrong section. Only a unique match helps.
  const std::string* elsewhere = nullptr;
  for (const std::string& key : known_keys) {
    if (LastComponent(key) != last) continue;
    if (elsewhere != nullptr) return std::nullopt;
    elsewhere = &key;
  }
  if (elsewhere == nullptr) return std::nullopt;
  return *elsewhere;
}

}  // namespace mailroom::config
