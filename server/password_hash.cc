// The CRAM-MD5 verifier needs MD5's intermediate chaining state, which only OpenSSL's
// low-level MD5 API exposes (EVP hides it). That API is deprecated in OpenSSL 3.0 but still
// present; its use is confined to this file, so the deprecation warnings are silenced here
// and nowhere else. Must come before any OpenSSL header.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "server/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mailroom::server {
namespace {

constexpr size_t kSaltSize = 16;
constexpr size_t kKeySize = 32;
constexpr char kScheme[] = "scrypt";
// Bounds on what a stored hash may ask for, so that a damaged or hostile row cannot make a
// login allocate gigabytes or spin for minutes.
constexpr int kMaxLog2N = 20;
constexpr int kMaxR = 32;
constexpr int kMaxP = 16;
constexpr uint64_t kMaxMemory = uint64_t{256} << 20;
// Salts we read (others' hashes, RFC 7914's test vectors) and salts we write.
constexpr size_t kMinSaltSize = 4, kMaxSaltSize = 64;
constexpr size_t kMinWriteSaltSize = 8;
constexpr size_t kMinKeySize = 16, kMaxKeySize = 64;

// Bytes OpenSSL's scrypt allocates: B (p blocks of 128·r) and V plus X, T (128·r·(N+2)).
uint64_t ScryptMemory(const ScryptParams& params) {
  const uint64_t n = uint64_t{1} << params.log2_n;
  return 128 * static_cast<uint64_t>(params.r) * (n + 2 + static_cast<uint64_t>(params.p));
}

absl::Status CheckParams(const ScryptParams& params) {
  if (params.log2_n < 1 || params.log2_n > kMaxLog2N || params.r < 1 || params.r > kMaxR ||
      params.p < 1 || params.p > kMaxP || ScryptMemory(params) > kMaxMemory) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scrypt parameters out of range: ln=", params.log2_n, ",r=", params.r, ",p=", params.p));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Scrypt(absl::string_view password, const ScryptParams& params,
                                   absl::string_view salt, size_t key_size) {
  std::string key(key_size, '\0');
  const int ok = EVP_PBE_scrypt(password.data(), password.size(),
                                reinterpret_cast<const unsigned char*>(salt.data()), salt.size(),
                                uint64_t{1} << params.log2_n, static_cast<uint64_t>(params.r),
                                static_cast<uint64_t>(params.p), ScryptMemory(params) + 4096,
                                reinterpret_cast<unsigned char*>(key.data()), key.size());
  if (ok != 1) return absl::InternalError("scrypt failed in OpenSSL");
  return key;
}

// PHC strings use standard base64 without padding.
std::string Base64NoPad(absl::string_view bytes) {
  std::string text = absl::Base64Escape(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::optional<std::string> DecodeBase64NoPad(absl::string_view text) {
  if (text.empty() || absl::StrContains(text, '=')) return std::nullopt;
  std::string bytes;
  if (!absl::Base64Unescape(text, &bytes)) return std::nullopt;
  // Reject non-canonical encodings (stray bits in the last character).
  if (Base64NoPad(bytes) != text) return std::nullopt;
  return bytes;
}

struct ParsedHash {
  ScryptParams params;
  std::string salt;
  std::string key;
};

absl::StatusOr<ParsedHash> ParseHash(absl::string_view stored) {
  auto invalid = [](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("stored password hash: ", why));
  };
  const std::vector<absl::string_view> parts = absl::StrSplit(stored, '$');
  if (parts.size() != 5 || !parts[0].empty()) return invalid("not a $scheme$...$ string");
  if (parts[1] != kScheme) return invalid(absl::StrCat("unknown scheme `", parts[1], "`"));
  ParsedHash parsed;
  const std::vector<absl::string_view> params = absl::StrSplit(parts[2], ',');
  if (params.size() != 3 || !absl::StartsWith(params[0], "ln=") ||
      !absl::StartsWith(params[1], "r=") || !absl::StartsWith(params[2], "p=") ||
      !absl::SimpleAtoi(params[0].substr(3), &parsed.params.log2_n) ||
      !absl::SimpleAtoi(params[1].substr(2), &parsed.params.r) ||
      !absl::SimpleAtoi(params[2].substr(2), &parsed.params.p)) {
    return invalid("parameters are not ln=N,r=N,p=N");
  }
  if (absl::Status valid = CheckParams(parsed.params); !valid.ok()) {
    return invalid(valid.message());
  }
  std::optional<std::string> salt = DecodeBase64NoPad(parts[3]);
  if (!salt.has_value() || salt->size() < kMinSaltSize || salt->size() > kMaxSaltSize) {
    return invalid("bad salt");
  }
  std::optional<std::string> key = DecodeBase64NoPad(parts[4]);
  if (!key.has_value() || key->size() < kMinKeySize || key->size() > kMaxKeySize) {
    return invalid("bad key");
  }
  parsed.salt = *std::move(salt);
  parsed.key = *std::move(key);
  return parsed;
}

// The HMAC key block (RFC 2104 §2): the password, or its MD5 when longer than a block,
// zero-padded to 64 bytes.
std::array<unsigned char, MD5_CBLOCK> HmacKeyBlock(absl::string_view password) {
  std::array<unsigned char, MD5_CBLOCK> block{};
  if (password.size() > MD5_CBLOCK) {
    MD5(reinterpret_cast<const unsigned char*>(password.data()), password.size(), block.data());
  } else {
    for (size_t i = 0; i < password.size(); ++i) block[i] = password[i];
  }
  return block;
}

// MD5's chaining state after one 64-byte block: key XOR pad.
void AppendPaddedState(const std::array<unsigned char, MD5_CBLOCK>& key, unsigned char pad,
                       std::string& out) {
  std::array<unsigned char, MD5_CBLOCK> block;
  for (size_t i = 0; i < block.size(); ++i) block[i] = key[i] ^ pad;
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, block.data(), block.size());  // exactly one block: the state is final
  OPENSSL_cleanse(block.data(), block.size());
  for (MD5_LONG word : {ctx.A, ctx.B, ctx.C, ctx.D}) {
    for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>(word >> shift));
  }
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

// An MD5 context resumed after one block whose chaining state is `state` (16 bytes).
MD5_CTX ResumeMd5(absl::string_view state) {
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_LONG words[4];
  for (int w = 0; w < 4; ++w) {
    words[w] = 0;
    for (int b = 3; b >= 0; --b) {
      words[w] = (words[w] << 8) | static_cast<unsigned char>(state[w * 4 + b]);
    }
  }
  ctx.A = words[0];
  ctx.B = words[1];
  ctx.C = words[2];
  ctx.D = words[3];
  ctx.Nl = MD5_CBLOCK * 8;  // bits already hashed: the pad block
  ctx.Nh = 0;
  ctx.num = 0;
  return ctx;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password) {
  std::string salt(kSaltSize, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), salt.size()) != 1) {
    return absl::InternalError("no randomness for a password salt");
  }
  return HashPassword(password, ScryptParams{}, salt);
}

absl::StatusOr<std::string> HashPassword(absl::string_view password, const ScryptParams& params,
                                         absl::string_view salt) {
  if (absl::Status valid = CheckParams(params); !valid.ok()) return valid;
  if (salt.size() < kMinWriteSaltSize || salt.size() > kMaxSaltSize) {
    return absl::InvalidArgumentError("salt must have 8 to 64 bytes");
  }
  absl::StatusOr<std::string> key = Scrypt(password, params, salt, kKeySize);
  if (!key.ok()) return key.status();
  return absl::StrCat("$", kScheme, "$ln=", params.log2_n, ",r=", params.r, ",p=", params.p, "$",
                      Base64NoPad(salt), "$", Base64NoPad(*key));
}

absl::StatusOr<bool> VerifyPassword(absl::string_view password, absl::string_view stored) {
  absl::StatusOr<ParsedHash> parsed = ParseHash(stored);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::string> key =
      Scrypt(password, parsed->params, parsed->salt, parsed->key.size());
  if (!key.ok()) return key.status();
  return CRYPTO_memcmp(key->data(), parsed->key.data(), key->size()) == 0;
}

std::string CramMd5Verifier(absl::string_view password) {
  std::array<unsigned char, MD5_CBLOCK> key = HmacKeyBlock(password);
  std::string verifier;
  verifier.reserve(kCramMd5VerifierSize);
  AppendPaddedState(key, 0x36, verifier);  // inner: ipad
  AppendPaddedState(key, 0x5c, verifier);  // outer: opad
  OPENSSL_cleanse(key.data(), key.size());
  return verifier;
}

absl::StatusOr<std::string> CramMd5DigestFromVerifier(absl::string_view verifier,
                                                      absl::string_view challenge) {
  if (verifier.size() != kCramMd5VerifierSize) {
    return absl::InvalidArgumentError(absl::StrCat("CRAM-MD5 verifier has ", verifier.size(),
                                                   " bytes, expected ", kCramMd5VerifierSize));
  }
  unsigned char inner[MD5_DIGEST_LENGTH];
  MD5_CTX ctx = ResumeMd5(verifier.substr(0, 16));
  MD5_Update(&ctx, challenge.data(), challenge.size());
  MD5_Final(inner, &ctx);
  unsigned char outer[MD5_DIGEST_LENGTH];
  ctx = ResumeMd5(verifier.substr(16, 16));
  MD5_Update(&ctx, inner, sizeof(inner));
  MD5_Final(outer, &ctx);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(outer), sizeof(outer)));
}

absl::StatusOr<bool> VerifyCramMd5Verifier(absl::string_view verifier, absl::string_view challenge,
                                           absl::string_view client_digest) {
  absl::StatusOr<std::string> expected = CramMd5DigestFromVerifier(verifier, challenge);
  if (!expected.ok()) return expected.status();
  if (client_digest.size() != expected->size()) return false;
  const std::string given = absl::AsciiStrToLower(client_digest);
  return CRYPTO_memcmp(given.data(), expected->data(), expected->size()) == 0;
}

VerifiedPasswordCache::VerifiedPasswordCache(size_t capacity)
    : capacity_(capacity), mac_key_(32, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(mac_key_.data()), mac_key_.size()) != 1) {
    // Without randomness the cache could be predicted: keep it empty instead.
    mac_key_.clear();
  }
}

std::string VerifiedPasswordCache::Key(absl::string_view user_id, absl::string_view stored_hash,
                                       absl::string_view password) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), mac_key_.data(), static_cast<int>(mac_key_.size()),
           reinterpret_cast<const unsigned char*>(password.data()), password.size(), mac,
           &mac_size) == nullptr) {
    return "";
  }
  // Length prefixes keep the parts apart whatever bytes they hold.
  return absl::StrCat(user_id.size(), ":", user_id, stored_hash.size(), ":", stored_hash,
                      absl::string_view(reinterpret_cast<const char*>(mac), mac_size));
}

bool VerifiedPasswordCache::Contains(absl::string_view user_id, absl::string_view stored_hash,
                                     absl::string_view password) const {
  if (mac_key_.empty() || capacity_ == 0) return false;
  const std::string key = Key(user_id, stored_hash, password);
  if (key.empty()) return false;
  absl::MutexLock lock(&mu_);
  return entries_.contains(key);
}

void VerifiedPasswordCache::Remember(absl::string_view user_id, absl::string_view stored_hash,
                                     absl::string_view password) {
  if (mac_key_.empty() || capacity_ == 0) return;
  std::string key = Key(user_id, stored_hash, password);
  if (key.empty()) return;
  absl::MutexLock lock(&mu_);
  if (!entries_.insert(key).second) return;
  order_.push_back(std::move(key));
  while (order_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

}  // namespace mailroom::server
