// ConnectionLimiter: counts the SMTP server's open connections, in total and per client
// address, so that the accept loop can turn away a connection over either limit with
// "421 4.7.0" before any session starts.
//
// A connection holds a Slot for its whole life; destroying the Slot gives the place back.
//
// Thread-safety: thread-safe. Slots may be released on any thread; the limiter must
// outlive every Slot it handed out.
#ifndef MAILROOM_SMTP_CONNECTION_LIMITER_H_
#define MAILROOM_SMTP_CONNECTION_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::smtp {

class ConnectionLimiter {
 public:
  // A place taken by one connection. Movable; an empty Slot holds nothing.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();

    bool held() const { return limiter_ != nullptr; }

   private:
    friend class ConnectionLimiter;
    Slot(ConnectionLimiter* limiter, std::string address)
        : limiter_(limiter), address_(std::move(address)) {}
    void Release();

    ConnectionLimiter* limiter_ = nullptr;
    std::string address_;
  };

  enum class Verdict { kAdmitted, kTooManyTotal, kTooManyFromAddress };

  struct Admission {
    Verdict verdict;
    Slot slot;  // held only when verdict == kAdmitted
  };

  // A limit <= 0 means unlimited.
  ConnectionLimiter(int max_total, int max_per_address);

  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // Takes a place for a connection from `address` unless that would exceed a limit; the
  // total limit is checked first.
  Admission TryAdmit(absl::string_view address);

  // Connections holding a place now.
  int open() const;

 private:
  void Release(const std::string& address);

  const int max_total_;
  const int max_per_address_;
  mutable absl::Mutex mu_;
  int total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int> per_address_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mailroom::smtp

#endif  // MAILROOM_SMTP_CONNECTION_LIMITER_H_
