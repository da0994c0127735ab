// StorageExecutor: a fixed pool of threads for blocking storage work (every libpqxx call of
// the gRPC services). gRPC callback threads hand work here and return at once; the work
// finishes its reactor from here.
//
// Thread-safe. Destruction runs every task already submitted, then joins the threads, so
// a reactor waiting on a task is always finished.

#ifndef MAILROOM_SERVER_STORAGE_EXECUTOR_H_
#define MAILROOM_SERVER_STORAGE_EXECUTOR_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::server {

class StorageExecutor {
 public:
  // REQUIRES: threads >= 1.
  explicit StorageExecutor(int threads);
  ~StorageExecutor();
  StorageExecutor(const StorageExecutor&) = delete;
  StorageExecutor& operator=(const StorageExecutor&) = delete;

  // Queues `task` to run on one of the threads. Tasks run in no particular order.
  void Submit(absl::AnyInvocable<void() &&> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_STORAGE_EXECUTOR_H_
