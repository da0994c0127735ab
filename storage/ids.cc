#include "storage/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace mailroom::storage {
namespace {

constexpr uint64_t kMaxMillis = (uint64_t{1} << 48) - 1;
// The 74 bits after the timestamp are kept as rand_a (12 bits) and rand_b (62 bits).
constexpr uint64_t kRandBMask = (uint64_t{1} << 62) - 1;
constexpr uint16_t kRandAMask = 0x0FFF;

struct Counter {
  uint16_t rand_a;  // 12 bits
  uint64_t rand_b;  // 62 bits
};

void FillRandom(unsigned char* out, int size) {
  if (RAND_bytes(out, size) == 1) return;
  // OpenSSL's generator failed (practically never): fall back on the OS so ids stay unique.
  std::random_device device;
  for (int i = 0; i < size; ++i) out[i] = static_cast<unsigned char>(device());
}

Counter RandomCounter() {
  std::array<unsigned char, 10> bytes;
  FillRandom(bytes.data(), bytes.size());
  Counter counter;
  // Clear the top bit of rand_a: that leaves at least 2^73 increments of room within the
  // millisecond, so the counter never overflows in practice.
  counter.rand_a = static_cast<uint16_t>(((bytes[0] << 8) | bytes[1]) & 0x07FF);
  uint64_t b = 0;
  for (int i = 2; i < 10; ++i) b = (b << 8) | bytes[i];
  counter.rand_b = b & kRandBMask;
  return counter;
}

class Generator {
 public:
  // Returns the next (millisecond, counter) pair, strictly greater than the previous one.
  void Next(uint64_t now_ms, uint64_t& ms, Counter& counter) {
    absl::MutexLock lock(&mu_);
    if (now_ms > last_ms_) {
      last_ms_ = now_ms;
      counter_ = RandomCounter();
    } else if (++counter_.rand_b > kRandBMask) {
      // Same millisecond (or the clock went back): count up, carrying into rand_a, and into
      // the timestamp in the astronomically unlikely case that rand_a is exhausted too.
      counter_.rand_b = 0;
      if (++counter_.rand_a > kRandAMask) {
        ++last_ms_;
        counter_ = RandomCounter();
      }
    }
    ms = last_ms_ & kMaxMillis;
    counter = counter_;
  }

 private:
  absl::Mutex mu_;
  uint64_t last_ms_ ABSL_GUARDED_BY(mu_) = 0;
  Counter counter_ ABSL_GUARDED_BY(mu_) = {0, 0};
};

Generator& TheGenerator() {
  static Generator* generator = new Generator();
  return *generator;
}

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsDashPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

std::string NewId() {
  const int64_t now = absl::ToUnixMillis(absl::Now());
  uint64_t ms = 0;
  Counter counter;
  TheGenerator().Next(now < 0 ? 0 : static_cast<uint64_t>(now), ms, counter);

  std::array<unsigned char, 16> bytes;
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  bytes[6] = static_cast<unsigned char>(0x70 | (counter.rand_a >> 8));  // version 7
  bytes[7] = static_cast<unsigned char>(counter.rand_a);
  bytes[8] = static_cast<unsigned char>(0x80 | (counter.rand_b >> 56));  // variant 10
  for (int i = 9; i < 16; ++i)
    bytes[i] = static_cast<unsigned char>(counter.rand_b >> (8 * (15 - i)));

  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0F]);
  }
  return out;
}

bool IsValidId(absl::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (IsDashPosition(i) ? id[i] != '-' : HexValue(id[i]) < 0) return false;
  }
  return true;
}

absl::StatusOr<absl::Time> IdTime(absl::string_view id) {
  if (!IsValidId(id) || id[14] != '7') {
    return absl::InvalidArgumentError(absl::StrCat("not a UUIDv7: \"", id, "\""));
  }
  uint64_t ms = 0;
  for (size_t i = 0; i < 13; ++i) {
    if (i == 8) continue;
    ms = (ms << 4) | static_cast<uint64_t>(HexValue(id[i]));
  }
  return absl::FromUnixMillis(static_cast<int64_t>(ms));
}

}  // namespace mailroom::storage
