// The mailroom command line: which command to run and where its configuration comes from.
//
//   mailroom [run] [--config FILE] [--set KEY=VALUE]...   run the service
//   mailroom migrate [--config FILE] [--set ...]          apply database migrations, exit
//   mailroom config check [--config FILE] [--set ...]     validate the configuration
//   mailroom config defaults                              print the commented defaults
//   mailroom version | --version
//   mailroom help | --help
#ifndef MAILROOM_SERVER_COMMAND_LINE_H_
#define MAILROOM_SERVER_COMMAND_LINE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mailroom::server {

enum class Command { kRun, kMigrate, kConfigCheck, kConfigDefaults, kVersion, kHelp };

struct CommandLine {
  Command command = Command::kRun;
  std::optional<std::string> config_file;  // --config
  std::vector<std::string> overrides;      // each --set KEY=VALUE, in order
};

// InvalidArgument naming the word that was not understood.
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

std::string UsageText();

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_COMMAND_LINE_H_
