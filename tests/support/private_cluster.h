// PrivateCluster: a PostgreSQL cluster owned by one test, which it may stop and start again
// (to test how the service survives a database restart), destroyed with the object.
//
// It drives the script named by MAILROOM_TEST_PG_CLUSTER (scripts/pg-cluster): a data
// directory under a fresh /tmp directory (mode 0755, so that the `postgres` user can reach it
// when tests run as root) and a free loopback port. A missing variable is a failure.
//
// Thread-safety: not thread-safe; use one object from one thread. Connections to it may be
// used from any thread.

#ifndef MAILROOM_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
#define MAILROOM_TESTS_SUPPORT_PRIVATE_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mailroom::testing {

class PrivateCluster {
 public:
  // Creates and starts a cluster. Returns FailedPrecondition when MAILROOM_TEST_PG_CLUSTER is
  // not set (and records a gtest failure), Internal with the script's output when it fails.
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> Start();

  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;
  // Stops the cluster and removes its files.
  ~PrivateCluster();

  // Stops the server (fast shutdown: open connections are terminated). OK if already stopped.
  absl::Status Stop();
  // Stops the server if it is running, then starts it again on the same port and data.
  absl::Status Restart();

  // The superuser URL of database `database`.
  std::string url(const std::string& database = "postgres") const;

 private:
  PrivateCluster(std::string script, std::string root, int port);

  const std::string script_;  // scripts/pg-cluster
  const std::string root_;    // the mkdtemp directory; the cluster lives in root_/pg
  const int port_;
};

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
