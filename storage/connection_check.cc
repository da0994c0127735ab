#include "storage/connection_check.h"

#include <poll.h>

namespace mailroom::storage {

bool IsStale(const pqxx::connection& conn) {
  if (!conn.is_open()) return true;
  const int fd = conn.sock();
  if (fd < 0) return true;
  pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&pfd, 1, 0) != 0;
}

}  // namespace mailroom::storage
