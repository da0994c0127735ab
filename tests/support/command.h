// RunCommand: runs a program (no shell) and returns what it printed, for test fixtures that
// drive helper scripts such as scripts/pg-cluster.
//
// Thread-safety: thread-safe; each call forks its own child and blocks until it exits.

#ifndef MAILROOM_TESTS_SUPPORT_COMMAND_H_
#define MAILROOM_TESTS_SUPPORT_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mailroom::testing {

// Runs argv[0] (looked up in PATH when it has no slash) with argv and returns its standard
// output. Returns Internal naming the command, its exit status and its standard error when it
// cannot be started or does not exit with status 0. REQUIRES: !argv.empty().
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv);

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_SUPPORT_COMMAND_H_
