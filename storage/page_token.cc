#include "storage/page_token.h"

#include <openssl/sha.h>

#include <array>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "storage/ids.h"

namespace mailroom::storage {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kBodySize = 1 + 8 + 8 + 16;
constexpr size_t kTokenSize = kBodySize + 8;

// The first 8 bytes of SHA-256 of `bytes`, big-endian.
uint64_t Hash64(absl::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  return value;
}

void PutU64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint64_t GetU64(absl::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
}

}  // namespace

uint64_t PageScope(absl::string_view mailbox, absl::string_view query) {
  // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
  return Hash64(absl::StrCat(mailbox.size(), ":", mailbox, query));
}

std::string EncodePageToken(const PageCursor& cursor, uint64_t scope) {
  std::string bytes;
  bytes.reserve(kTokenSize);
  bytes.push_back(static_cast<char>(kVersion));
  PutU64(bytes, scope);
  PutU64(bytes, static_cast<uint64_t>(cursor.received_us));
  std::string hex;
  for (char c : cursor.id) {
    if (c != '-') hex.push_back(c);
  }
  bytes += absl::HexStringToBytes(hex);
  PutU64(bytes, Hash64(bytes));
  return absl::WebSafeBase64Escape(bytes);
}

absl::StatusOr<PageCursor> DecodePageToken(absl::string_view token, uint64_t scope) {
  std::string bytes;
  if (!absl::WebSafeBase64Unescape(token, &bytes) || bytes.size() != kTokenSize) {
    return Invalid("not a token returned by ListMessages");
  }
  const absl::string_view view(bytes);
  if (GetU64(view.substr(kBodySize)) != Hash64(view.substr(0, kBodySize))) {
    return Invalid("not a token returned by ListMessages (damaged)");
  }
  if (static_cast<uint8_t>(bytes[0]) != kVersion) return Invalid("unsupported token version");
  if (GetU64(view.substr(1)) != scope) {
    return Invalid("the token belongs to another mailbox or query");
  }
  PageCursor cursor;
  cursor.received_us = static_cast<int64_t>(GetU64(view.substr(9)));
  const std::string hex = absl::BytesToHexString(view.substr(17, 16));
  cursor.id = absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                           hex.substr(16, 4), "-", hex.substr(20));
  if (!IsValidId(cursor.id)) return Invalid("not a token returned by ListMessages");
  return cursor;
}

}  // namespace mailroom::storage
