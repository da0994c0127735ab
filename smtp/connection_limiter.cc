#include "smtp/connection_limiter.h"

#include <utility>

namespace mailroom::smtp {

ConnectionLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), address_(std::move(other.address_)) {}

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    address_ = std::move(other.address_);
  }
  return *this;
}

ConnectionLimiter::Slot::~Slot() { Release(); }

void ConnectionLimiter::Slot::Release() {
  if (limiter_ == nullptr) return;
  std::exchange(limiter_, nullptr)->Release(address_);
}

ConnectionLimiter::ConnectionLimiter(int max_total, int max_per_address)
    : max_total_(max_total), max_per_address_(max_per_address) {}

ConnectionLimiter::Admission ConnectionLimiter::TryAdmit(absl::string_view address) {
  absl::MutexLock lock(&mu_);
  if (max_total_ > 0 && total_ >= max_total_) return {Verdict::kTooManyTotal, Slot()};
  int& from_address = per_address_[address];
  if (max_per_address_ > 0 && from_address >= max_per_address_) {
    return {Verdict::kTooManyFromAddress, Slot()};
  }
  ++from_address;
  ++total_;
  return {Verdict::kAdmitted, Slot(this, std::string(address))};
}

int ConnectionLimiter::open() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

void ConnectionLimiter::Release(const std::string& address) {
  absl::MutexLock lock(&mu_);
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

}  // namespace mailroom::smtp
