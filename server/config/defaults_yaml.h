// Renders a schema as a commented YAML file holding every default: what
// `mailroom config defaults` prints.
//
// Every setting appears with its doc comment, what it accepts and its default, so the
// output is both the reference of the settings and a file that loads back to exactly the
// defaults (config_test checks this). Pure function of the schema: thread-safe.

#ifndef MAILROOM_SERVER_CONFIG_DEFAULTS_YAML_H_
#define MAILROOM_SERVER_CONFIG_DEFAULTS_YAML_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/config/schema.h"

namespace mailroom::config {

// `header` is written first, each of its lines as a comment.
std::string DefaultsYaml(const Schema& schema, absl::string_view header);

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_DEFAULTS_YAML_H_
