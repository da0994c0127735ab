#include "server/routing/decision_json.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "storage/text_encoding.h"

namespace mailroom::server::routing {

using ::mailroom::v1::RoutingDecision;

std::string DecisionsToJson(const std::vector<RoutingDecision>& decisions) {
  std::string json = "[";
  for (const RoutingDecision& decision : decisions) {
    if (json.size() > 1) json.push_back(',');
    json.push_back('{');
    bool first = true;
    auto key = [&json, &first](absl::string_view name) {
      if (!first) json.push_back(',');
      first = false;
      absl::StrAppend(&json, "\"", name, "\":");
    };
    if (!decision.recipient().empty()) {
      key("recipient");
      storage::AppendJsonString(json, decision.recipient());
    }
    if (!decision.mailbox().empty()) {
      key("mailbox");
      storage::AppendJsonString(json, decision.mailbox());
    }
    if (decision.reason() != RoutingDecision::REASON_UNSPECIFIED) {
      key("reason");
      storage::AppendJsonString(json, RoutingDecision::Reason_Name(decision.reason()));
    }
    if (decision.rule_number() != 0) {
      key("rule_number");
      absl::StrAppend(&json, decision.rule_number());
    }
    if (!decision.explanation().empty()) {
      key("explanation");
      storage::AppendJsonString(json, decision.explanation());
    }
    json.push_back('}');
  }
  json.push_back(']');
  return json;
}

absl::StatusOr<std::vector<RoutingDecision>> DecisionsFromJson(absl::string_view json) {
  // The parser reads messages, not arrays: wrap the array as the `routing` field of a
  // Message, whose type it is.
  mailroom::v1::Message holder;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      absl::StrCat("{\"routing\":", json, "}"), &holder);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an array of RoutingDecision: ", parsed.message().as_string()));
  }
  std::vector<RoutingDecision> decisions;
  decisions.reserve(holder.routing_size());
  for (RoutingDecision& decision : *holder.mutable_routing()) {
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace mailroom::server::routing
