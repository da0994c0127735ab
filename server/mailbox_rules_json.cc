#include "server/mailbox_rules_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace mailroom::server {

absl::StatusOr<std::string> RoutingRulesToJson(const RoutingRules& rules) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json = "[";
  for (int i = 0; i < rules.size(); ++i) {
    std::string rule;
    const auto status = google::protobuf::util::MessageToJsonString(rules[i], &rule, options);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot print rules[", i, "] as JSON: ", status.ToString()));
    }
    if (i > 0) json += ",";
    json += rule;
  }
  json += "]";
  return json;
}

absl::Status RoutingRulesFromJson(absl::string_view json, RoutingRules* rules) {
  // The array is parsed as the `rules` field of a Mailbox, which is exactly a list of rules.
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  v1::Mailbox holder;
  const auto status = google::protobuf::util::JsonStringToMessage(
      absl::StrCat("{\"rules\":", json, "}"), &holder, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("stored routing rules are not valid: ", status.ToString()));
  }
  rules->Swap(holder.mutable_rules());
  return absl::OkStatus();
}

}  // namespace mailroom::server
