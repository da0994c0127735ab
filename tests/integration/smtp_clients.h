// The real SMTP clients the end-to-end tests drive, in one place: swaks, curl and Python's
// smtplib (through the scripts in tests/integration/clients/, run with /usr/bin/python3),
// each pointed at a listener of the mailroom binary on the loopback address.
//
// Each helper runs the client to completion (no shell) and returns its exit code and
// everything it printed, or a status when it could not be run at all.
//
// Thread-safety: the functions are thread-safe; each runs its own child process.
#ifndef MAILROOM_TESTS_INTEGRATION_SMTP_CLIENTS_H_
#define MAILROOM_TESTS_INTEGRATION_SMTP_CLIENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mailroom::testing {

// A client's exit code and its stdout and stderr.
using ClientResult = std::pair<int, std::string>;

// swaks --server 127.0.0.1:`port` `args`...
absl::StatusOr<ClientResult> RunSwaks(int port, const std::vector<std::string>& args);

// curl -sS -v `args`... (the URL is among `args`, e.g. smtp://127.0.0.1:PORT).
absl::StatusOr<ClientResult> RunCurl(const std::vector<std::string>& args);

// /usr/bin/python3 tests/integration/clients/`script` `args`...
absl::StatusOr<ClientResult> RunPythonClient(absl::string_view script,
                                             const std::vector<std::string>& args);

// Writes `contents` byte for byte to a new file in the test's temporary directory; returns
// its path. `name` must be unique within the test.
std::string WriteTestFile(absl::string_view name, absl::string_view contents);

// `text` with every LF that does not follow a CR turned into CRLF: how swaks sends a file.
std::string WithCrlf(absl::string_view text);

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_INTEGRATION_SMTP_CLIENTS_H_
