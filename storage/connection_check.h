// IsStale: whether an idle libpqxx connection is still worth using.
//
// Shared by the connection pool and the ingest writers, which both keep connections idle
// between uses and must notice when PostgreSQL ended them (a restart terminates backends).
//
// Thread-safety: call only from the thread that owns the connection.
#ifndef MAILROOM_STORAGE_CONNECTION_CHECK_H_
#define MAILROOM_STORAGE_CONNECTION_CHECK_H_

#include <pqxx/connection>

namespace mailroom::storage {

// True when the server has closed an idle connection or sent something on it unasked. An
// idle connection has nothing to read; data or EOF there means the backend ended (a restart
// sends "terminating connection due to administrator command" and closes). Checking costs
// one poll() and spares the caller a failed statement on a connection that died idle.
bool IsStale(const pqxx::connection& conn);

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_CONNECTION_CHECK_H_
