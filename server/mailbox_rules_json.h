// The stored form of a mailbox's routing rules: the mailboxes.rules column holds a JSON array
// of mailroom.v1.RoutingRule in protobuf JSON with the proto field names (migration 0004),
// e.g. [{"recipient": {"glob": "*@qa.example.com"}, "description": "QA"}]. storage/ keeps
// that text opaque; these two functions are the only translation between it and the protos.
//
// Thread-safety: pure functions.
#ifndef MAILROOM_SERVER_MAILBOX_RULES_JSON_H_
#define MAILROOM_SERVER_MAILBOX_RULES_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "mailroom/v1/mailbox_service.pb.h"

namespace mailroom::server {

using RoutingRules = google::protobuf::RepeatedPtrField<v1::RoutingRule>;

// Returns the JSON array of `rules` ("[]" when there is none). Internal if protobuf cannot
// print one (it always can for a well-formed message).
absl::StatusOr<std::string> RoutingRulesToJson(const RoutingRules& rules);

// Replaces `rules` with the rules of the JSON array `json`. Fields this build does not know
// (written by a newer replica) are ignored. Returns Internal when `json` is not such an array.
absl::Status RoutingRulesFromJson(absl::string_view json, RoutingRules* rules);

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_MAILBOX_RULES_JSON_H_
