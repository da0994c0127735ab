// BuildRoutingTable: turns a storage::RoutingSnapshot (mailbox rules as protobuf JSON text)
// into a RoutingTable. A rule whose JSON does not parse as a mailroom.v1.RoutingRule, or
// that does not compile, is left out and described in `skipped`; its number still counts,
// so the numbers in routing decisions are the ones ListMailboxes shows.
//
// Stateless and thread-safe.
#ifndef MAILROOM_SERVER_ROUTING_SNAPSHOT_TABLE_H_
#define MAILROOM_SERVER_ROUTING_SNAPSHOT_TABLE_H_

#include <memory>
#include <string>
#include <vector>

#include "server/routing/routing_table.h"
#include "storage/routing_snapshot.h"

namespace mailroom::server::routing {

std::shared_ptr<const RoutingTable> BuildRoutingTable(const storage::RoutingSnapshot& snapshot,
                                                      RoutingPolicy policy,
                                                      std::vector<std::string>* skipped);

}  // namespace mailroom::server::routing

#endif  // MAILROOM_SERVER_ROUTING_SNAPSHOT_TABLE_H_
