// Loads Mailroom's configuration: defaults < YAML file (--config) < environment
// (MAILROOM_...) < flags (--set key=value), each later source overriding the earlier ones.
//
// The entry point of server/config for the rest of the process: main() calls Load() once at
// start-up with the --config path, MailroomEnvironment() and the --set flags, and refuses
// to start on an error. Every problem of every source is reported at once, one per line,
// naming the file and line, variable or flag, the full key, what was expected and, for a
// misspelt key, the key probably meant. Secret values never appear in messages. The
// functions are thread-safe; the schema is declared in mailroom_schema.cc.

#ifndef MAILROOM_SERVER_CONFIG_LOADER_H_
#define MAILROOM_SERVER_CONFIG_LOADER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/config/settings.h"

namespace mailroom::config {

struct Sources {
  std::optional<std::string> file;  // The --config path; nullopt: defaults only.
  // Name and value of environment variables; only those starting with MAILROOM_ are read.
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<std::string> overrides;  // "key=value" from --set, in command-line order.
};

struct Loaded {
  Config config;
  // Problems that do not stop start-up: unknown MAILROOM_* variables (test harnesses set
  // MAILROOM_TEST_*), with the setting probably meant. The caller logs them.
  std::vector<std::string> warnings;
};

// Returns the configuration built from `sources`, or InvalidArgument whose message lists
// every problem, one per line ("mailroom.yaml:12: `smtp.relay.pasword` is not a setting;
// did you mean `smtp.relay.password`?"). Reads the config file and secret `_file`s.
absl::StatusOr<Loaded> Load(const Sources& sources);

// The defaults alone. config_test guarantees that the declared defaults are valid.
Config DefaultConfig();

// The MAILROOM_* variables of this process, for Sources::environment.
std::vector<std::pair<std::string, std::string>> MailroomEnvironment();

// The commented default configuration file (`mailroom config defaults`): every setting with
// its doc and default; valid YAML that loads back to DefaultConfig().
std::string DefaultConfigYaml();

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_LOADER_H_
