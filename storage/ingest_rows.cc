#include "storage/ingest_rows.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "storage/ids.h"

namespace mailroom::storage {

bool IsIpAddress(absl::string_view address) {
  if (address.empty() || address.size() > INET6_ADDRSTRLEN) return false;
  const std::string text(address);  // inet_pton wants a NUL-terminated string
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

absl::Status ValidateMessage(const NewMessage& message) {
  if (!IsValidId(message.id)) {
    return absl::InvalidArgumentError(absl::StrCat("message id is not a UUID: ", message.id));
  }
  if (!message.session_id.empty() && !IsValidId(message.session_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", message.id, ": session_id is not a UUID"));
  }
  if (!message.client_address.empty() && !IsIpAddress(message.client_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", message.id, ": client_address is not an IP address"));
  }
  if (!message.dsn_ret.empty() && message.dsn_ret != "FULL" && message.dsn_ret != "HDRS") {
    return absl::InvalidArgumentError(
        absl::StrCat("message ", message.id, ": dsn_ret must be FULL or HDRS"));
  }
  for (const std::string& mailbox_id : message.mailbox_ids) {
    if (!IsValidId(mailbox_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", message.id, ": mailbox id is not a UUID"));
    }
  }
  if (message.raw.data() == nullptr && !message.raw.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("message ", message.id, ": raw is null"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSession(const NewSession& session) {
  if (!IsValidId(session.id)) {
    return absl::InvalidArgumentError(absl::StrCat("session id is not a UUID: ", session.id));
  }
  if (!IsIpAddress(session.client_address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", session.id, ": client_address is not an IP address"));
  }
  if (session.client_port < 0 || session.client_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", session.id, ": client_port out of range"));
  }
  if (session.message_count < 0 || session.error_reply_count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("session ", session.id, ": negative count"));
  }
  const absl::string_view outcome = session.outcome;
  if (outcome != kOutcomeQuit && outcome != kOutcomeClientDropped && outcome != kOutcomeTimeout &&
      outcome != kOutcomeError && outcome != kOutcomeShutdown) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", session.id, ": unknown outcome \"", session.outcome, "\""));
  }
  return absl::OkStatus();
}

}  // namespace mailroom::storage
