// What the stores of routing configuration (storage/mailbox_store.h, storage/user_store.h)
// share: the NOTIFY channel every change to mailboxes or users is announced on, and what an
// upsert of a declared object did.
#ifndef MAILROOM_STORAGE_ROUTING_CONFIG_H_
#define MAILROOM_STORAGE_ROUTING_CONFIG_H_

namespace mailroom::storage {

// Every committed change to mailboxes or users sends a NOTIFY on this channel; the payload
// names the table ("mailboxes", "users").
inline constexpr char kRoutingChannel[] = "mailroom_routing";

// What an upsert of a declared mailbox or user did.
enum class UpsertOutcome { kCreated, kUpdated, kUnchanged };

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_ROUTING_CONFIG_H_
