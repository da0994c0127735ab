// The one place where libpqxx (and any other) exceptions become absl::Status.
//
// Storage code lets libpqxx throw inside ConnectionPool::Run; the pool catches everything and
// calls CurrentExceptionToStatus(), so no exception crosses a storage API. Callers above
// storage only ever see these codes:
//
//   broken connection, SQLSTATE class 08, 57P01..57P03 (server shutting down),
//   too many connections (53300)                       -> Unavailable
//   unique violation (23505)                            -> AlreadyExists
//   serialization failure (40001), deadlock (40P01)     -> Aborted (retry the transaction)
//   in-doubt commit                                     -> Unknown ("commit outcome unknown")
//   foreign key violation (23503)                       -> FailedPrecondition
//   check / not-null violation, data exception (22xxx) -> InvalidArgument
//   other insufficient resources (53xxx: disk full,
//   out of memory, configuration limit)                 -> ResourceExhausted
//   any other SQL error                                 -> Internal, with the SQLSTATE
//   any other exception                                 -> Internal
//
// Why "too many connections" is Unavailable but "disk full" is ResourceExhausted: a refused
// connection looks to the caller exactly like a database that is down for a moment (retry
// later, health turns NOT_SERVING, SMTP answers 451 4.3.0), whereas a server that has run out
// of disk or memory accepted us and cannot store more; ResourceExhausted is the code gRPC
// documents for "the file system is out of space" and maps to SMTP 452 4.3.1 (RFC 3463
// "mail system full"). Both are transient from the client's point of view.
//
// Messages never contain a connection password: every function takes the secrets to scrub
// (see ConnectionSecrets), and neither libpqxx's copy of the query nor the lines in which the
// server echoes SQL text (LINE, QUERY, CONTEXT) are copied into a message.
//
// Thread-safety: all functions are pure and thread-safe.

#ifndef MAILROOM_STORAGE_ERRORS_H_
#define MAILROOM_STORAGE_ERRORS_H_

#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mailroom::storage {

// Returns the status for `e`. `secrets` are removed from the message (replaced by "***").
absl::Status ExceptionToStatus(const std::exception& e, absl::Span<const std::string> secrets = {});

// Returns the status for the exception currently being handled, including exceptions that do
// not derive from std::exception. REQUIRES: called inside a catch block.
absl::Status CurrentExceptionToStatus(absl::Span<const std::string> secrets = {});

// Returns true if `status` (produced by the functions above) means the connection it came
// from can no longer be trusted and must be closed rather than reused.
bool IsConnectionLost(const absl::Status& status);

// Returns the password(s) contained in a libpq connection string, URL form
// ("postgresql://user:secret@host/db?password=...") or keyword form ("password=secret"),
// both as written and percent-decoded, so that they can be scrubbed from messages. Returns an
// empty vector when there is no password.
std::vector<std::string> ConnectionSecrets(absl::string_view url);

// Returns `url` with any password replaced by "***", fit for logs and messages.
std::string RedactConnectionString(absl::string_view url);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_ERRORS_H_
