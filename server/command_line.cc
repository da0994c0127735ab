#include "server/command_line.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mailroom::server {
namespace {

// Reads the leading command words; returns how many it used.
absl::StatusOr<size_t> ParseCommand(const std::vector<std::string>& args, Command& command) {
  if (args.empty() || absl::StartsWith(args[0], "-")) return 0;
  const std::string& word = args[0];
  if (word == "run")
    command = Command::kRun;
  else if (word == "migrate")
    command = Command::kMigrate;
  else if (word == "version")
    command = Command::kVersion;
  else if (word == "help")
    command = Command::kHelp;
  else if (word == "config") {
    if (args.size() < 2) {
      return absl::InvalidArgumentError("`config` needs a subcommand: `check` or `defaults`");
    }
    if (args[1] == "check")
      command = Command::kConfigCheck;
    else if (args[1] == "defaults")
      command = Command::kConfigDefaults;
    else {
      return absl::InvalidArgumentError(
          absl::StrCat("`config ", args[1], "` is not a command; try `check` or `defaults`"));
    }
    return 2;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "`", word, "` is not a command; commands are run, migrate, config, version, help"));
  }
  return 1;
}

// Accepts both "--flag value" and "--flag=value"; advances `i` past what it used.
absl::StatusOr<std::string> FlagValue(const std::vector<std::string>& args, size_t& i,
                                      const std::string& flag) {
  const std::string& arg = args[i];
  if (arg.size() > flag.size() && arg[flag.size()] == '=') return arg.substr(flag.size() + 1);
  if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
  return args[++i];
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine result;
  absl::StatusOr<size_t> used = ParseCommand(args, result.command);
  if (!used.ok()) return used.status();
  for (size_t i = *used; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.command = Command::kHelp;
    } else if (arg == "--version") {
      result.command = Command::kVersion;
    } else if (arg == "--config" || absl::StartsWith(arg, "--config=")) {
      absl::StatusOr<std::string> value = FlagValue(args, i, "--config");
      if (!value.ok()) return value.status();
      result.config_file = *value;
    } else if (arg == "--set" || absl::StartsWith(arg, "--set=")) {
      absl::StatusOr<std::string> value = FlagValue(args, i, "--set");
      if (!value.ok()) return value.status();
      if (value->find('=') == std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set takes KEY=VALUE (e.g. --set log.level=debug), got `", *value, "`"));
      }
      result.overrides.push_back(*value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("`", arg,
                       "` is not a flag; flags are --config FILE, --set KEY=VALUE, "
                       "--help, --version"));
    }
  }
  return result;
}

std::string UsageText() {
  return R"(Mailroom: an SMTP capture and relay service with a gRPC API, stored in PostgreSQL.

Usage:
  mailroom [run] [--config FILE] [--set KEY=VALUE]...   run the service
  mailroom migrate [--config FILE] [--set ...]          apply database migrations and exit
  mailroom config check [--config FILE] [--set ...]     validate the configuration (exit 0 or 2)
  mailroom config defaults                              print the default configuration, commented
  mailroom version                                      print the version

Configuration comes from, in rising precedence: built-in defaults, the YAML file given with
--config, MAILROOM_* environment variables (database.url is MAILROOM_DATABASE_URL), and
--set flags. Any secret can also be read from a file: database.url_file,
MAILROOM_DATABASE_URL_FILE.
)";
}

}  // namespace mailroom::server
