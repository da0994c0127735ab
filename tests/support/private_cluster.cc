#include "tests/support/private_cluster.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"

namespace mailroom::testing {
namespace {

constexpr char kScriptVariable[] = "MAILROOM_TEST_PG_CLUSTER";

}  // namespace

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::Start() {
  const char* script = std::getenv(kScriptVariable);
  if (script == nullptr || *script == '\0') {
    ADD_FAILURE() << kScriptVariable
                  << " is not set: export it as the absolute path of scripts/pg-cluster "
                     "(scripts/test does)";
    return absl::FailedPreconditionError(absl::StrCat(kScriptVariable, " is not set"));
  }
  char root[] = "/tmp/mailroom-pg.XXXXXX";
  if (mkdtemp(root) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  // The server runs as `postgres` when tests run as root: it must be able to enter root.
  if (chmod(root, 0755) != 0) {
    const std::string error = std::strerror(errno);
    rmdir(root);
    return absl::InternalError(absl::StrCat("chmod ", root, ": ", error));
  }
  absl::StatusOr<std::string> port_text = RunCommand({script, "free-port"});
  int port = 0;
  if (!port_text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*port_text), &port)) {
    rmdir(root);
    return port_text.ok() ? absl::InternalError(absl::StrCat("bad port: ", *port_text))
                          : port_text.status();
  }
  // From here on the destructor cleans up whatever init and start leave behind.
  std::unique_ptr<PrivateCluster> cluster(new PrivateCluster(script, root, port));
  const std::string dir = absl::StrCat(root, "/pg");
  absl::StatusOr<std::string> done = RunCommand({script, "init", dir, absl::StrCat(port)});
  if (done.ok()) done = RunCommand({script, "start", dir});
  if (!done.ok()) return done.status();
  return cluster;
}

PrivateCluster::PrivateCluster(std::string script, std::string root, int port)
    : script_(std::move(script)), root_(std::move(root)), port_(port) {}

PrivateCluster::~PrivateCluster() {
  absl::StatusOr<std::string> done = RunCommand({script_, "destroy", absl::StrCat(root_, "/pg")});
  if (!done.ok()) {
    std::fprintf(stderr, "warning: could not destroy cluster in %s: %s\n", root_.c_str(),
                 done.status().ToString().c_str());
  }
  rmdir(root_.c_str());
}

absl::Status PrivateCluster::Stop() {
  return RunCommand({script_, "stop", absl::StrCat(root_, "/pg")}).status();
}

absl::Status PrivateCluster::Restart() {
  if (absl::Status stopped = Stop(); !stopped.ok()) return stopped;
  return RunCommand({script_, "start", absl::StrCat(root_, "/pg")}).status();
}

std::string PrivateCluster::url(const std::string& database) const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
}

}  // namespace mailroom::testing
