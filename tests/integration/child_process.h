// ChildProcess: runs a program (the real mailroom binary, a client such as buf curl) for
// an end-to-end test, with extra environment variables, its stdout and stderr captured in
// a file, and a kill on destruction so that a failing test leaves nothing running.
#ifndef MAILROOM_TESTS_INTEGRATION_CHILD_PROCESS_H_
#define MAILROOM_TESTS_INTEGRATION_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mailroom::testing {

class ChildProcess {
 public:
  using Environment = std::vector<std::pair<std::string, std::string>>;

  // Starts `argv` (argv[0] is a path) with the test's environment plus `environment`.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const Environment& environment = {});
  ~ChildProcess();

  // Sends `signal` unless the process has already been reaped.
  void Signal(int signal);

  // The exit code, or nullopt if it did not exit within `timeout` (or died of a signal).
  std::optional<int> Wait(absl::Duration timeout);

  // Everything the process wrote to stdout and stderr so far.
  std::string Output() const;

  // Polls Output() until it contains `text`; false after `timeout`.
  bool WaitForOutput(const std::string& text, absl::Duration timeout) const;

 private:
  ChildProcess(pid_t pid, std::string output_path)
      : pid_(pid), output_path_(std::move(output_path)) {}

  pid_t pid_;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::string output_path_;
};

// Runs `argv` to completion (at most `timeout`); returns {exit code, output}.
absl::StatusOr<std::pair<int, std::string>> RunToCompletion(
    const std::vector<std::string>& argv, const ChildProcess::Environment& environment = {},
    absl::Duration timeout = absl::Seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// The value of a variable scripts/test exports; an empty string when it is missing.
std::string TestEnvironment(const char* name);

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_CHILD_PROCESS_H_
