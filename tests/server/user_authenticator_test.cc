// UserAuthenticator against a real PostgreSQL: every outcome of PLAIN/LOGIN and CRAM-MD5
// (right, wrong, unknown, disabled, no password material), the answer when the database is
// away, that no message carries the secret, that Authenticate() answers off the calling
// thread, and the cost of a verification with and without the cache.

#include "server/user_authenticator.h"

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/password_hash.h"
#include "smtp/sasl.h"
#include "storage/user_store.h"
#include "tests/storage/migrated_database.h"
#include "tests/support/status_matchers.h"

namespace mailroom::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "s3cret-Pa55";
constexpr char kChallenge[] = "<12345.1700000000@mailroom.test>";

smtp::Credentials Plain(std::string user, std::string password) {
  smtp::Credentials credentials;
  credentials.mechanism = "PLAIN";
  credentials.username = std::move(user);
  credentials.password = std::move(password);
  return credentials;
}

smtp::Credentials Cram(std::string user, absl::string_view password) {
  // The client's answer (RFC 2195): HMAC-MD5 keyed by the password. Computed here through
  // the verifier; AcceptsRightPasswordForEachMechanism checks the engine's HMAC agrees.
  smtp::Credentials credentials;
  credentials.mechanism = "CRAM-MD5";
  credentials.username = std::move(user);
  credentials.challenge = kChallenge;
  credentials.digest =
      CramMd5DigestFromVerifier(CramMd5Verifier(password), kChallenge).value_or("");
  return credentials;
}

class UserAuthenticatorTest : public storage::MigratedDatabaseTest {
 protected:
  void SetUp() override {
    storage::MigratedDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    authenticator_ = std::make_unique<UserAuthenticator>(pool_.get(), false);
  }

  void AddUser(const std::string& name, bool enabled = true) {
    absl::StatusOr<std::string> hash = HashPassword(kPassword);
    ASSERT_OK(hash.status());
    ASSERT_OK(
        storage::CreateUser(
            *pool_, {.username = name,
                     .password = {.hash = *hash, .cram_md5_verifier = CramMd5Verifier(kPassword)},
                     .enabled = enabled})
            .status());
  }

  // Asserts `status` is Unauthenticated naming `why`, without the secret.
  static void ExpectRefused(const absl::Status& status, absl::string_view why) {
    EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr(why));
    EXPECT_THAT(status.message(), Not(HasSubstr(kPassword)));
    EXPECT_THAT(status.message(), Not(HasSubstr("wrong-guess")));
  }

  std::unique_ptr<UserAuthenticator> authenticator_;
};

TEST_F(UserAuthenticatorTest, AcceptsRightPasswordForEachMechanism) {
  AddUser("ann");
  EXPECT_OK(authenticator_->Check(Plain("ann", kPassword)));
  smtp::Credentials login = Plain("ann", kPassword);
  login.mechanism = "LOGIN";
  EXPECT_OK(authenticator_->Check(login));
  smtp::Credentials cram = Cram("ann", kPassword);
  // The digest is the one the engine's own HMAC-MD5 accepts for this password.
  ASSERT_TRUE(smtp::VerifyCramMd5(kPassword, kChallenge, cram.digest));
  EXPECT_OK(authenticator_->Check(cram));
}

TEST_F(UserAuthenticatorTest, RefusesWithReasons) {
  AddUser("ann");
  AddUser("off", /*enabled=*/false);
  ASSERT_OK(storage::UpsertUser(*pool_, {.username = "nopw"}).status());

  ExpectRefused(authenticator_->Check(Plain("ann", "wrong-guess")), "wrong password");
  ExpectRefused(authenticator_->Check(Cram("ann", "wrong-guess")), "wrong password");
  ExpectRefused(authenticator_->Check(Plain("ghost", kPassword)), "unknown user `ghost`");
  ExpectRefused(authenticator_->Check(Cram("ghost", kPassword)), "unknown user");
  ExpectRefused(authenticator_->Check(Plain("ANN", kPassword)), "unknown user");
  ExpectRefused(authenticator_->Check(Plain("off", kPassword)), "user disabled");
  ExpectRefused(authenticator_->Check(Cram("off", kPassword)), "user disabled");
  ExpectRefused(authenticator_->Check(Plain("nopw", kPassword)), "no password");
  ExpectRefused(authenticator_->Check(Cram("nopw", kPassword)), "CRAM-MD5");

  smtp::Credentials other = Plain("ann", kPassword);
  other.authorization_id = "root";
  ExpectRefused(authenticator_->Check(other), "authorization identity");
}

TEST_F(UserAuthenticatorTest, ChangedPasswordAppliesToNextAuthDespiteCache) {
  AddUser("ann");
  ASSERT_OK(authenticator_->Check(Plain("ann", kPassword)));
  ASSERT_OK(authenticator_->Check(Plain("ann", kPassword)));  // cached now
  absl::StatusOr<std::string> hash = HashPassword("new-one");
  ASSERT_OK(hash.status());
  ASSERT_OK(
      storage::UpdateUser(
          *pool_, {.username = "ann"},
          {.password = storage::PasswordMaterial{.hash = *hash,
                                                 .cram_md5_verifier = CramMd5Verifier("new-one")}})
          .status());
  ExpectRefused(authenticator_->Check(Plain("ann", kPassword)), "wrong password");
  EXPECT_OK(authenticator_->Check(Plain("ann", "new-one")));
  // Disabling wins over a cached success.
  ASSERT_OK(storage::UpdateUser(*pool_, {.username = "ann"}, {.enabled = false}).status());
  ExpectRefused(authenticator_->Check(Plain("ann", "new-one")), "user disabled");
}

TEST_F(UserAuthenticatorTest, AnswersOnAnotherThread) {
  AddUser("ann");
  absl::Notification finished;
  absl::Status result = absl::UnknownError("not called");
  std::thread::id answered_on;
  authenticator_->Authenticate(Plain("ann", kPassword), [&](absl::Status status) {
    result = status;
    answered_on = std::this_thread::get_id();
    finished.Notify();
  });
  finished.WaitForNotification();
  EXPECT_OK(result);
  EXPECT_NE(answered_on, std::this_thread::get_id());
}

TEST_F(UserAuthenticatorTest, AnyCredentialsAcceptsEveryoneWithoutTheDatabase) {
  // A pool pointing nowhere: accepting must not need it.
  absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> nowhere =
      storage::ConnectionPool::Create({.url = "postgresql://127.0.0.1:1/none"});
  ASSERT_OK(nowhere.status());
  UserAuthenticator any(nowhere->get(), /*allow_any_credentials=*/true);
  absl::Status result = absl::UnknownError("not called");
  any.Authenticate(Plain("whoever", "whatever"), [&](absl::Status status) { result = status; });
  EXPECT_OK(result);  // answered at once, on this thread
}

TEST_F(UserAuthenticatorTest, DatabaseAwayIsUnavailable) {
  absl::StatusOr<std::unique_ptr<storage::ConnectionPool>> nowhere =
      storage::ConnectionPool::Create({.url = "postgresql://127.0.0.1:1/none"});
  ASSERT_OK(nowhere.status());
  UserAuthenticator checking(nowhere->get(), /*allow_any_credentials=*/false);
  const absl::Status status = checking.Check(Plain("ann", kPassword));
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(status.message(), Not(HasSubstr(kPassword)));
}

// Not an assertion on time (that would be flaky): prints the cost of one scrypt
// verification and of a cached one, for the report, and checks both succeed.
TEST_F(UserAuthenticatorTest, ReportsCostOfVerification) {
  AddUser("ann");
  const absl::Time start = absl::Now();
  ASSERT_OK(authenticator_->Check(Plain("ann", kPassword)));  // scrypt
  const absl::Duration first = absl::Now() - start;
  constexpr int kRepeats = 50;
  const absl::Time cached_start = absl::Now();
  for (int i = 0; i < kRepeats; ++i) ASSERT_OK(authenticator_->Check(Plain("ann", kPassword)));
  const absl::Duration cached = (absl::Now() - cached_start) / kRepeats;
  const absl::Time raw_start = absl::Now();
  absl::StatusOr<std::string> hash = HashPassword(kPassword);
  ASSERT_OK(hash.status());
  const absl::Duration hashing = absl::Now() - raw_start;
  std::printf("AUTH PLAIN with scrypt: %s; cached (DB read + HMAC): %s; HashPassword: %s\n",
              absl::FormatDuration(first).c_str(), absl::FormatDuration(cached).c_str(),
              absl::FormatDuration(hashing).c_str());
}

}  // namespace
}  // namespace mailroom::server
