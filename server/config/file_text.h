// Reads a whole small file (the config file, a secret mounted by Kubernetes) into memory.
//
// Used by the loader and the binder. Errors are statuses whose message is the system's
// reason ("No such file or directory"); callers add which setting and path it was about.
// Thread-safe.

#ifndef MAILROOM_SERVER_CONFIG_FILE_TEXT_H_
#define MAILROOM_SERVER_CONFIG_FILE_TEXT_H_

#include <string>

#include "absl/status/statusor.h"

namespace mailroom::config {

// Returns the bytes of the file at `path`, or NotFound / PermissionDenied / Internal with
// the system's reason as the whole message.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// `text` without one trailing "\n" (or "\r\n"): how a secret file's content becomes its value.
std::string WithoutTrailingNewline(std::string text);

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_FILE_TEXT_H_
