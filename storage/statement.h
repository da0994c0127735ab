// Statement: a named SQL statement, declared as a constant next to the code that runs it, and
// ExecPrepared(), which runs it as a server-side prepared statement.
//
// Repositories run the same statements thousands of times a second (message ingest); a
// prepared statement is parsed and planned once per connection instead of once per call.
// libpqxx 6.4 registers a prepared definition per connection and sends it to the server on
// first use (again after a reconnect), and accepts re-declaring an identical definition, so
// ExecPrepared() declares before every execution and callers need no per-connection setup.
//
// Thread-safety: Statement is an immutable value. ExecPrepared() uses the transaction's
// connection, which belongs to one thread (see storage/pool.h).

#ifndef MAILROOM_STORAGE_STATEMENT_H_
#define MAILROOM_STORAGE_STATEMENT_H_

#include <pqxx/result>
#include <pqxx/transaction_base>
#include <utility>

namespace mailroom::storage {

struct Statement {
  const char* name;  // unique per process, e.g. "messages_insert"
  const char* sql;   // with $1, $2, ... parameters
};

// Runs `statement` with `args` in `txn` and returns its result. Throws what libpqxx throws:
// call it inside ConnectionPool::Run(). REQUIRES: no other Statement uses the same name with
// a different sql.
template <typename... Args>
pqxx::result ExecPrepared(pqxx::transaction_base& txn, const Statement& statement, Args&&... args) {
  txn.conn().prepare(statement.name, statement.sql);
  return txn.exec_prepared(statement.name, std::forward<Args>(args)...);
}

}  // namespace mailroom::storage

#endif  // MAILROOM_STORAGE_STATEMENT_H_
