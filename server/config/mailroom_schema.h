// The one declaration of every Mailroom setting: its key, type, range, default and doc,
// bound to its field in Config (settings.h), plus the rules that span several settings.
//
// Read by the loader and by `mailroom config defaults`. Built once on first use; the
// returned schema is immutable and safe to share between threads.

#ifndef MAILROOM_SERVER_CONFIG_MAILROOM_SCHEMA_H_
#define MAILROOM_SERVER_CONFIG_MAILROOM_SCHEMA_H_

#include "server/config/schema.h"

namespace mailroom::config {

// The schema bound to mailroom::config::Config.
const Schema& MailroomSchema();

}  // namespace mailroom::config

#endif  // MAILROOM_SERVER_CONFIG_MAILROOM_SCHEMA_H_
