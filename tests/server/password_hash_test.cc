// Password material: scrypt PHC strings (format, verification, parse errors), the CRAM-MD5
// verifier checked against the engine's own HMAC-MD5 (smtp::VerifyCramMd5) with RFC 2195's
// example, and the cache of successful verifications.

#include "server/password_hash.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smtp/sasl.h"
#include "tests/support/status_matchers.h"

namespace mailroom::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Cheap parameters so that tests that hash many times stay fast; the default cost is
// exercised by the tests that call HashPassword(password).
constexpr ScryptParams kCheap{.log2_n = 4, .r = 8, .p = 1};
constexpr char kSalt[] = "0123456789abcdef";

// RFC 2195 §2's example exchange.
constexpr char kRfcPassword[] = "tanstaaftanstaaf";
constexpr char kRfcChallenge[] = "<1896.697170952@postoffice.reston.mci.net>";
constexpr char kRfcDigest[] = "b913a602c7eda7a495b4e6e7334d3890";

// "true", "false" or the error, so that a failed check says which.
std::string Result(const absl::StatusOr<bool>& result) {
  if (!result.ok()) return result.status().ToString();
  return *result ? "true" : "false";
}

TEST(PasswordHashTest, DefaultHashIsSelfDescribingAndVerifies) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse");
  ASSERT_OK(hash.status());
  EXPECT_THAT(*hash, StartsWith("$scrypt$ln=15,r=8,p=1$"));
  const std::vector<std::string> parts = absl::StrSplit(*hash, '$');
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[3].size(), 22u);  // 16 bytes, base64 without padding
  EXPECT_EQ(parts[4].size(), 43u);  // 32 bytes
  EXPECT_FALSE(absl::StrContains(*hash, "correct"));

  EXPECT_EQ(Result(VerifyPassword("correct horse", *hash)), "true");
  EXPECT_EQ(Result(VerifyPassword("correct horsE", *hash)), "false");
  EXPECT_EQ(Result(VerifyPassword("", *hash)), "false");
}

TEST(PasswordHashTest, SaltsDiffer) {
  absl::StatusOr<std::string> a = HashPassword("same");
  absl::StatusOr<std::string> b = HashPassword("same");
  ASSERT_OK(a.status());
  ASSERT_OK(b.status());
  EXPECT_NE(*a, *b);
}

TEST(PasswordHashTest, MatchesRfc7914TestVector) {
  // RFC 7914 §12, second vector: P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64. Our
  // strings hold 32-byte keys, so the check goes through a string with the full 64 bytes.
  const std::string key =
      "/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA";
  const std::string stored = absl::StrCat("$scrypt$ln=10,r=8,p=16$TmFDbA$", key);
  EXPECT_EQ(Result(VerifyPassword("password", stored)), "true");
  EXPECT_EQ(Result(VerifyPassword("passwore", stored)), "false");
}

TEST(PasswordHashTest, ExplicitParametersRoundTrip) {
  absl::StatusOr<std::string> hash = HashPassword("pw", kCheap, kSalt);
  ASSERT_OK(hash.status());
  EXPECT_THAT(*hash, StartsWith("$scrypt$ln=4,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"));
  EXPECT_EQ(Result(VerifyPassword("pw", *hash)), "true");
  // Deterministic for a given salt.
  EXPECT_EQ(HashPassword("pw", kCheap, kSalt).value(), *hash);
}

TEST(PasswordHashTest, RefusesBadParameters) {
  EXPECT_TRUE(absl::IsInvalidArgument(HashPassword("pw", {.log2_n = 0}, kSalt).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HashPassword("pw", {.log2_n = 21}, kSalt).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(HashPassword("pw", kCheap, "short").status()));
}

TEST(PasswordHashTest, ParseErrorsAreStatuses) {
  const std::string good = HashPassword("pw", kCheap, kSalt).value();
  const std::vector<std::string> parts = absl::StrSplit(good, '$');
  const std::string salt = parts[3], key = parts[4];
  for (const std::string& stored : {
           std::string(""),
           std::string("plaintext"),
           absl::StrCat("$pbkdf2$ln=4,r=8,p=1$", salt, "$", key),
           absl::StrCat("$scrypt$ln=4,r=8$", salt, "$", key),
           absl::StrCat("$scrypt$r=8,ln=4,p=1$", salt, "$", key),
           absl::StrCat("$scrypt$ln=x,r=8,p=1$", salt, "$", key),
           absl::StrCat("$scrypt$ln=40,r=8,p=1$", salt, "$", key),
           absl::StrCat("$scrypt$ln=20,r=32,p=1$", salt, "$", key),  // 4 GiB
           absl::StrCat("$scrypt$ln=4,r=8,p=1$", salt, "=$", key),
           absl::StrCat("$scrypt$ln=4,r=8,p=1$!!!$", key),
           absl::StrCat("$scrypt$ln=4,r=8,p=1$", salt, "$"),
           absl::StrCat("$scrypt$ln=4,r=8,p=1$", salt, "$", key, "$extra"),
       }) {
    absl::StatusOr<bool> verified = VerifyPassword("pw", stored);
    EXPECT_TRUE(absl::IsInvalidArgument(verified.status())) << stored;
    EXPECT_THAT(verified.status().message(), HasSubstr("stored password hash")) << stored;
  }
}

TEST(CramMd5VerifierTest, FinishesRfc2195Example) {
  const std::string verifier = CramMd5Verifier(kRfcPassword);
  ASSERT_EQ(verifier.size(), kCramMd5VerifierSize);
  EXPECT_FALSE(absl::StrContains(verifier, kRfcPassword));
  absl::StatusOr<std::string> digest = CramMd5DigestFromVerifier(verifier, kRfcChallenge);
  ASSERT_OK(digest.status());
  EXPECT_EQ(*digest, kRfcDigest);
  // Exactly what the engine accepts for the same password.
  EXPECT_TRUE(smtp::VerifyCramMd5(kRfcPassword, kRfcChallenge, *digest));
  EXPECT_EQ(Result(VerifyCramMd5Verifier(verifier, kRfcChallenge, kRfcDigest)), "true");
  EXPECT_EQ(
      Result(VerifyCramMd5Verifier(verifier, kRfcChallenge, "B913A602C7EDA7A495B4E6E7334D3890")),
      "true");
  EXPECT_EQ(
      Result(VerifyCramMd5Verifier(verifier, kRfcChallenge, "b913a602c7eda7a495b4e6e7334d3891")),
      "false");
  EXPECT_EQ(Result(VerifyCramMd5Verifier(verifier, "<other@challenge>", kRfcDigest)), "false");
  EXPECT_EQ(Result(VerifyCramMd5Verifier(verifier, kRfcChallenge, "b913")), "false");
}

TEST(CramMd5VerifierTest, AgreesWithEngineForAssortedPasswords) {
  // Empty, one block exactly, longer than a block (hashed first, RFC 2104), non-ASCII.
  for (const std::string& password :
       {std::string(""), std::string(64, 'k'), std::string(65, 'k'), std::string(300, 'z'),
        std::string("p\xC3\xA4ssw\xC3\xB6rd")}) {
    const std::string verifier = CramMd5Verifier(password);
    for (const std::string challenge : {"<1.2@host>", "", "<very long challenge text .......>"}) {
      absl::StatusOr<std::string> digest = CramMd5DigestFromVerifier(verifier, challenge);
      ASSERT_OK(digest.status());
      EXPECT_TRUE(smtp::VerifyCramMd5(password, challenge, *digest))
          << password.size() << " " << challenge;
      EXPECT_FALSE(smtp::VerifyCramMd5(password + "x", challenge, *digest));
    }
  }
}

TEST(CramMd5VerifierTest, RefusesMalformedVerifier) {
  EXPECT_TRUE(absl::IsInvalidArgument(CramMd5DigestFromVerifier("short", "c").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyCramMd5Verifier("", "c", kRfcDigest).status()));
}

TEST(VerifiedPasswordCacheTest, RemembersOnlyTheExactTriple) {
  VerifiedPasswordCache cache;
  EXPECT_FALSE(cache.Contains("id1", "hash1", "pw"));
  cache.Remember("id1", "hash1", "pw");
  EXPECT_TRUE(cache.Contains("id1", "hash1", "pw"));
  EXPECT_FALSE(cache.Contains("id1", "hash1", "pW"));
  EXPECT_FALSE(cache.Contains("id1", "hash2", "pw"));  // password changed
  EXPECT_FALSE(cache.Contains("id2", "hash1", "pw"));  // user recreated
  // Length prefixes keep parts apart.
  EXPECT_FALSE(cache.Contains("id1h", "ash1", "pw"));
}

TEST(VerifiedPasswordCacheTest, EvictsOldestBeyondCapacity) {
  VerifiedPasswordCache cache(2);
  cache.Remember("a", "h", "1");
  cache.Remember("b", "h", "2");
  cache.Remember("c", "h", "3");
  EXPECT_FALSE(cache.Contains("a", "h", "1"));
  EXPECT_TRUE(cache.Contains("b", "h", "2"));
  EXPECT_TRUE(cache.Contains("c", "h", "3"));
}

TEST(VerifiedPasswordCacheTest, KeysDifferBetweenCaches) {
  // Each cache draws its own key: one process's entries mean nothing to another.
  VerifiedPasswordCache a;
  VerifiedPasswordCache b;
  a.Remember("id", "hash", "pw");
  EXPECT_FALSE(b.Contains("id", "hash", "pw"));
}

}  // namespace
}  // namespace mailroom::server
