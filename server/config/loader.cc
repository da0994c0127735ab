#include "server/config/loader.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/config/binder.h"
#include "server/config/defaults_yaml.h"
#include "server/config/file_text.h"
#include "server/config/mailroom_schema.h"
#include "server/config/schema.h"
#include "server/config/suggest.h"
#include "yaml-cpp/yaml.h"

extern char** environ;  // POSIX: the process environment.

namespace mailroom::config {
namespace {

constexpr absl::string_view kEnvironmentPrefix = "MAILROOM_";

constexpr absl::string_view kDefaultsHeader =
    "Mailroom configuration: every setting with its default value.\n"
    "\n"
    "Load it with `mailroom --config FILE`. A setting can also come from the environment,\n"
    "as MAILROOM_ and its key in upper case with `_` for `.` (MAILROOM_DATABASE_POOL_SIZE),\n"
    "or from a flag (`--set database.pool_size=16`). Flags win over the environment, which\n"
    "wins over this file. A secret can be read from a file instead, as Kubernetes mounts\n"
    "them: `url_file: /run/secrets/database-url` (one trailing newline is dropped).";

// Reads, parses and applies the YAML file.
void ApplyFile(const std::string& file, Binder& binder) {
  const absl::StatusOr<std::string> text = ReadTextFile(file);
  if (!text.ok()) {
    binder.AddProblem(
        absl::StrCat(file, ": cannot read the config file: ", text.status().message()));
    return;
  }
  YAML::Node document;
  try {
    document = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based.
    binder.AddProblem(absl::StrCat(file, ":", e.mark.line + 1, ": invalid YAML: ", e.msg));
    return;
  }
  binder.ApplyDocument(document, [&file](const YAML::Mark& mark) {
    return mark.is_null() ? file : absl::StrCat(file, ":", mark.line + 1);
  });
}

// Every environment name a setting can have, without the MAILROOM_ prefix that all share
// (it would make any two names look alike), for suggestions; "[]" items as index 0.
std::vector<std::string> EnvironmentNames(const Schema& schema) {
  std::vector<std::string> names;
  for (std::string key : AllKeys(schema)) {
    for (size_t at = key.find("[]"); at != std::string::npos; at = key.find("[]")) {
      key.replace(at, 2, "[0]");
    }
    names.push_back(EnvironmentName(key).substr(kEnvironmentPrefix.size()));
  }
  return names;
}

std::vector<Setting> EnvironmentSettings(
    const Schema& schema, const std::vector<std::pair<std::string, std::string>>& environment,
    std::vector<std::string>& warnings) {
  std::vector<Setting> settings;
  std::optional<std::vector<std::string>> names;  // Built on the first unknown variable.
  for (const auto& [name, value] : environment) {
    if (!absl::StartsWith(name, kEnvironmentPrefix)) continue;
    std::optional<std::string> key = KeyForEnvironment(schema, name);
    if (key) {
      settings.push_back(Setting{*std::move(key), value, absl::StrCat("environment ", name)});
      continue;
    }
    if (!names) names = EnvironmentNames(schema);
    const std::optional<std::string> closest =
        ClosestText(name.substr(kEnvironmentPrefix.size()), *names);
    warnings.push_back(
        absl::StrCat("environment ", name, " is not a setting",
                     closest ? absl::StrCat("; did you mean ", kEnvironmentPrefix, *closest, "?")
                             : "; ignored"));
  }
  return settings;
}

std::vector<Setting> FlagSettings(const std::vector<std::string>& overrides, Binder& binder) {
  std::vector<Setting> settings;
  for (const std::string& flag : overrides) {
    const size_t equals = flag.find('=');
    if (equals == std::string::npos || equals == 0) {
      // Without `=` there is no value to keep secret: the text is only a malformed key.
      binder.AddProblem(absl::StrCat("flag --set ", flag, ": expected key=value"));
      continue;
    }
    const std::string key = flag.substr(0, equals);
    settings.push_back(Setting{key, flag.substr(equals + 1), absl::StrCat("flag --set ", key)});
  }
  return settings;
}

}  // namespace

absl::StatusOr<Loaded> Load(const Sources& sources) {
  const Schema& schema = MailroomSchema();
  Loaded loaded;
  Binder binder(schema, &loaded.config);
  binder.ApplyDefaults();
  if (sources.file) ApplyFile(*sources.file, binder);
  binder.ApplySettings(EnvironmentSettings(schema, sources.environment, loaded.warnings));
  binder.ApplySettings(FlagSettings(sources.overrides, binder));
  binder.RunChecks();
  if (!binder.problems().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(binder.problems(), "\n"));
  }
  return loaded;
}

Config DefaultConfig() {
  Config config;
  Binder binder(MailroomSchema(), &config);
  binder.ApplyDefaults();
  return config;
}

std::vector<std::pair<std::string, std::string>> MailroomEnvironment() {
  std::vector<std::pair<std::string, std::string>> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    if (!absl::StartsWith(text, kEnvironmentPrefix)) continue;
    const size_t equals = text.find('=');
    if (equals == absl::string_view::npos) continue;
    variables.emplace_back(std::string(text.substr(0, equals)),
                           std::string(text.substr(equals + 1)));
  }
  return variables;
}

std::string DefaultConfigYaml() { return DefaultsYaml(MailroomSchema(), kDefaultsHeader); }

}  // namespace mailroom::config
