// The stored form of routing decisions (messages.routing, migration 0004): a JSON array of
// mailroom.v1.RoutingDecision in protobuf JSON with the proto field names, e.g.
//   [{"recipient":"a@qa.example.com","mailbox":"qa","reason":"REASON_RULE",
//     "rule_number":2,"explanation":"routed to `qa` by rule 2: recipient glob `*@qa...`"}]
// Written by hand on the capture path (it runs for every message; the generic protobuf JSON
// printer costs more than the rest of routing), read back with the protobuf JSON parser.
//
// Stateless and thread-safe.
#ifndef MAILROOM_SERVER_ROUTING_DECISION_JSON_H_
#define MAILROOM_SERVER_ROUTING_DECISION_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/message_service.pb.h"

namespace mailroom::server::routing {

// Returns the JSON array of `decisions` (fields with default values left out, as protobuf
// JSON does).
std::string DecisionsToJson(const std::vector<mailroom::v1::RoutingDecision>& decisions);

// Parses what DecisionsToJson wrote (or any protobuf JSON array of RoutingDecision).
// Returns InvalidArgument when `json` is not one.
absl::StatusOr<std::vector<mailroom::v1::RoutingDecision>> DecisionsFromJson(
    absl::string_view json);

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_DECISION_JSON_H_
