// Applies configuration sources to a struct through its schema, collecting every problem.
//
// The loader (loader.h) drives one Binder per load, source by source in order of
// precedence: ApplyDefaults, then ApplyDocument (the YAML file), then ApplySettings once for
// the environment and once for --set flags, then RunChecks. A later source overwrites what
// an earlier one set. Nothing stops at the first problem: each becomes one line of
// problems(), prefixed with where it came from ("mailroom.yaml:12", "environment
// MAILROOM_X", "flag --set x"); a secret's value never appears in one. Not thread-safe: use
// one Binder per load.

#ifndef MAILROOM_SERVER_CONFIG_BINDER_H_
#define MAILROOM_SERVER_CONFIG_BINDER_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "server/config/schema.h"
#include "yaml-cpp/yaml.h"

namespace mailroom::config {

// Names the place of a YAML node for messages ("mailroom.yaml:12").
using MarkOrigin = std::function<std::string(const YAML::Mark& mark)>;

// One key=value pair from the environment or a --set flag.
struct Setting {
  // Dotted; may address a list item ("smtp.listeners[0].port") or a secret's `_file` form.
  // A whole list is given as YAML flow text ("[{name: a, port: 25}]").
  std::string key;
  std::string value;
  std::string origin;  // "environment MAILROOM_API_ADDRESS", "flag --set api.address".
};

class Binder {
 public:
  // REQUIRES: `root` points to the struct `schema` was built for; both outlive the Binder.
  Binder(const Schema& schema, void* root);
  Binder(const Binder&) = delete;
  Binder& operator=(const Binder&) = delete;

  // Sets every setting to its declared default and every list to its default items.
  void ApplyDefaults();

  // Applies a parsed YAML document: a map of sections, or null (an empty file).
  void ApplyDocument(const YAML::Node& document, const MarkOrigin& origin);

  // Applies one source's settings. Giving a secret and its `_file` form in the same source is
  // a problem; across sources the later one wins.
  void ApplySettings(const std::vector<Setting>& settings);

  // Runs the schema's cross-field checks on the values applied so far.
  void RunChecks();

  // Records a problem found outside the binder (an unreadable file), already prefixed with
  // where it is.
  void AddProblem(std::string line) { problems_.push_back(std::move(line)); }

  // Every problem found so far, one line each, in the order found.
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  // Where a Setting lands.
  struct Target {
    const Field* field = nullptr;
    void* owner = nullptr;
    std::string path;  // Without `_file`.
    bool from_file = false;
  };

  void Report(absl::string_view origin, absl::string_view path, absl::string_view message);
  void ReportUnknown(absl::string_view origin, absl::string_view key);

  void DefaultFields(const std::vector<Field>& fields, void* owner, const std::string& path);
  void DefaultList(const Field& field, void* owner, const std::string& path);

  // `given`, if not null, receives the names of the settings found in `map`.
  void ReadSection(const std::vector<Field>& fields, const YAML::Node& map, void* owner,
                   const std::string& path, const MarkOrigin& origin,
                   std::vector<std::string>* given);
  void ReadList(const Field& field, const YAML::Node& node, void* owner, const std::string& path,
                absl::string_view where, const MarkOrigin& origin);
  void CheckRequired(const std::vector<Field>& fields, const std::vector<std::string>& given,
                     const std::string& path, absl::string_view origin);

  void AssignText(const Field& field, absl::string_view text, void* owner, const std::string& path,
                  absl::string_view origin);
  void AssignNode(const Field& field, const YAML::Node& node, void* owner, const std::string& path,
                  absl::string_view origin);
  void AssignFromFile(const Field& field, const std::string& file, void* owner,
                      const std::string& path, absl::string_view origin);

  bool Resolve(const Setting& setting, Target& target);

  const Schema& schema_;
  void* root_;
  std::vector<std::string> keys_;  // AllKeys(schema_), for suggestions.
  std::vector<std::string> problems_;
  absl::flat_hash_map<std::string, std::string> origins_;  // Setting path → where it was set.
  absl::flat_hash_set<std::string> failed_;                // Paths with a problem.
};

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_BINDER_H_
