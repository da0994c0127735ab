#include "smtp/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mailroom::smtp {
namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

SaslExchange::Step Rejected(ReplyId id) {
  SaslExchange::Step step;
  step.kind = SaslExchange::Step::Kind::kRejected;
  step.rejection = id;
  return step;
}

}  // namespace

std::optional<SaslMechanism> ParseSaslMechanism(absl::string_view name) {
  if (absl::EqualsIgnoreCase(name, "PLAIN")) return SaslMechanism::kPlain;
  if (absl::EqualsIgnoreCase(name, "LOGIN")) return SaslMechanism::kLogin;
  if (absl::EqualsIgnoreCase(name, "CRAM-MD5")) return SaslMechanism::kCramMd5;
  return std::nullopt;
}

absl::string_view SaslMechanismName(SaslMechanism mechanism) {
  switch (mechanism) {
    case SaslMechanism::kPlain:
      return "PLAIN";
    case SaslMechanism::kLogin:
      return "LOGIN";
    case SaslMechanism::kCramMd5:
      return "CRAM-MD5";
  }
  return "";
}

std::optional<std::string> DecodeBase64(absl::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last_group = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      unsigned char c = text[i + k];
      if (c == '=' && last_group && k >= 2) {
        v[k] = 0;
        ++padding;
        continue;
      }
      // Data after padding ("ab=c") or padding outside the last group is malformed.
      if (padding > 0) return std::nullopt;
      v[k] = Base64Value(c);
      if (v[k] < 0) return std::nullopt;
    }
    uint32_t group = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    // Canonical encoding only: the bits dropped by padding must be zero (RFC 4648 §3.5).
    if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(group >> 16));
    if (padding < 2) out.push_back(static_cast<char>((group >> 8) & 0xFF));
    if (padding < 1) out.push_back(static_cast<char>(group & 0xFF));
  }
  return out;
}

std::string EncodeBase64(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(written < 0 ? 0 : static_cast<size_t>(written));
  return out;
}

std::string MakeCramMd5Challenge(absl::string_view hostname, absl::Time now) {
  uint64_t random = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&random), sizeof(random)) != 1) {
    // OpenSSL's generator failing is exceptional; a predictable challenge only weakens replay
    // protection, which CRAM-MD5 over TLS does not rely on. Mix in the clock instead.
    random = static_cast<uint64_t>(absl::ToUnixNanos(now)) * 0x9E3779B97F4A7C15ULL;
  }
  return absl::StrCat("<", random, ".", absl::ToUnixSeconds(now), "@", hostname, ">");
}

bool VerifyCramMd5(absl::string_view secret, absl::string_view challenge,
                   absl::string_view digest) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  if (HMAC(EVP_md5(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), mac,
           &mac_length) == nullptr) {
    return false;
  }
  std::string expected =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_length));
  std::string given = absl::AsciiStrToLower(digest);
  if (given.size() != expected.size()) return false;
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

SaslExchange::SaslExchange(SaslMechanism mechanism, std::string cram_challenge)
    : mechanism_(mechanism), cram_challenge_(std::move(cram_challenge)) {
  credentials_.mechanism = std::string(SaslMechanismName(mechanism));
}

SaslExchange::Step SaslExchange::Challenge(absl::string_view text) {
  Step step;
  step.kind = Step::Kind::kChallenge;
  step.challenge = EncodeBase64(text);
  return step;
}

SaslExchange::Step SaslExchange::Start(const std::optional<std::string>& initial_response) {
  switch (mechanism_) {
    case SaslMechanism::kPlain:
      if (!initial_response) return Challenge("");
      return Respond(*initial_response);
    case SaslMechanism::kLogin:
      if (!initial_response) return Challenge("Username:");
      return Respond(*initial_response);
    case SaslMechanism::kCramMd5:
      // A server-first mechanism: an initial response is a protocol error (RFC 4954 §4).
      if (initial_response) return Rejected(ReplyId::kAuthMalformed);
      return Challenge(cram_challenge_);
  }
  return Rejected(ReplyId::kUnknownMechanism);
}

SaslExchange::Step SaslExchange::Respond(absl::string_view line) {
  if (line == "*") return Rejected(ReplyId::kAuthCancelled);
  std::optional<std::string> decoded;
  if (line == "=") {
    decoded = std::string();
  } else {
    decoded = DecodeBase64(line);
  }
  if (!decoded) return Rejected(ReplyId::kAuthBadBase64);
  return Finish(*decoded);
}

SaslExchange::Step SaslExchange::Finish(absl::string_view decoded) {
  switch (mechanism_) {
    case SaslMechanism::kPlain: {
      // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)
      std::vector<absl::string_view> parts = absl::StrSplit(decoded, '\0');
      if (parts.size() != 3 || parts[1].empty() || parts[2].empty()) {
        return Rejected(ReplyId::kAuthMalformed);
      }
      credentials_.authorization_id = std::string(parts[0]);
      credentials_.username = std::string(parts[1]);
      credentials_.password = std::string(parts[2]);
      break;
    }
    case SaslMechanism::kLogin:
      if (stage_ == 0) {
        if (decoded.empty() || absl::StrContains(decoded, '\0')) {
          return Rejected(ReplyId::kAuthMalformed);
        }
        credentials_.username = std::string(decoded);
        stage_ = 1;
        return Challenge("Password:");
      }
      if (absl::StrContains(decoded, '\0')) return Rejected(ReplyId::kAuthMalformed);
      credentials_.password = std::string(decoded);
      break;
    case SaslMechanism::kCramMd5: {
      // "user SP digest": the user name may contain spaces, the digest is 32 hex digits.
      size_t space = decoded.rfind(' ');
      if (space == absl::string_view::npos || space == 0) {
        return Rejected(ReplyId::kAuthMalformed);
      }
      absl::string_view digest = decoded.substr(space + 1);
      if (digest.size() != 32) return Rejected(ReplyId::kAuthMalformed);
      for (char c : digest) {
        if (!absl::ascii_isxdigit(c)) return Rejected(ReplyId::kAuthMalformed);
      }
      credentials_.username = std::string(decoded.substr(0, space));
      credentials_.challenge = cram_challenge_;
      credentials_.digest = absl::AsciiStrToLower(digest);
      break;
    }
  }
  Step step;
  step.kind = Step::Kind::kDone;
  step.credentials = credentials_;
  return step;
}

}  // namespace mailroom::smtp
