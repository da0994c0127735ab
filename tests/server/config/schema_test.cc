#include "server/config/schema.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/config/binder.h"
#include "server/config/mailroom_schema.h"
#include "server/config/settings.h"

namespace mailroom::config {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;

// "smtp.listeners[].port" → "smtp.listeners[3].port".
std::string WithIndex(std::string key, int index) {
  for (size_t at = key.find("[]"); at != std::string::npos; at = key.find("[]")) {
    key.replace(at, 2, "[" + std::to_string(index) + "]");
  }
  return key;
}

TEST(EnvironmentNameTest, UpperCasesAndJoinsWithUnderscores) {
  EXPECT_EQ(EnvironmentName("database.url"), "MAILROOM_DATABASE_URL");
  EXPECT_EQ(EnvironmentName("database.url_file"), "MAILROOM_DATABASE_URL_FILE");
  EXPECT_EQ(EnvironmentName("api.max_concurrent_streams"), "MAILROOM_API_MAX_CONCURRENT_STREAMS");
  EXPECT_EQ(EnvironmentName("smtp.listeners[1].port"), "MAILROOM_SMTP_LISTENERS_1_PORT");
}

TEST(KeyForEnvironmentTest, IsTheInverseOfEnvironmentNameForEveryKey) {
  const Schema& schema = MailroomSchema();
  absl::flat_hash_set<std::string> names;
  for (const std::string& pattern : AllKeys(schema)) {
    const std::string key = WithIndex(pattern, 3);
    const std::string name = EnvironmentName(key);
    EXPECT_TRUE(names.insert(name).second) << "two keys share " << name;
    // Sections cannot be set from the environment; everything else maps back.
    const std::optional<std::string> back = KeyForEnvironment(schema, name);
    if (back) {
      EXPECT_EQ(*back, key);
    }
  }
}

TEST(KeyForEnvironmentTest, TellsApartNamesThatArePrefixesOfOthers) {
  const Schema& schema = MailroomSchema();
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_API_MAX_CONNECTION_AGE"), "api.max_connection_age");
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_API_MAX_CONNECTION_AGE_GRACE"),
            "api.max_connection_age_grace");
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_SMTP_RELAY_PASSWORD_FILE"),
            "smtp.relay.password_file");
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_SMTP_LISTENERS"), "smtp.listeners");
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_SMTP_LISTENERS_0_TLS"), "smtp.listeners[0].tls");
}

TEST(KeyForEnvironmentTest, RejectsUnknownNames) {
  const Schema& schema = MailroomSchema();
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_DATABASE"), std::nullopt);
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_TEST_DATABASE_URL"), std::nullopt);
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_API_ADDRESS_FILE"), std::nullopt);  // Not secret.
  EXPECT_EQ(KeyForEnvironment(schema, "MAILROOM_SMTP_LISTENERS_X_PORT"), std::nullopt);
  EXPECT_EQ(KeyForEnvironment(schema, "DATABASE_URL"), std::nullopt);
}

void ExpectDocumented(const std::vector<Field>& fields) {
  for (const Field& field : fields) {
    EXPECT_FALSE(field.doc.empty()) << field.name;
    EXPECT_EQ(field.doc.find('\n'), std::string::npos) << field.name;
    ExpectDocumented(field.fields);
  }
}

TEST(MailroomSchemaTest, EverySettingHasAOneLineDoc) {
  ExpectDocumented(MailroomSchema().fields());
}

TEST(MailroomSchemaTest, DeclaredDefaultsAreValid) {
  Config config;
  Binder binder(MailroomSchema(), &config);
  binder.ApplyDefaults();
  binder.RunChecks();
  EXPECT_THAT(binder.problems(), IsEmpty());
}

TEST(MailroomSchemaTest, SecretsHaveFileForms) {
  const std::vector<std::string> keys = AllKeys(MailroomSchema());
  EXPECT_THAT(keys, Contains("database.url_file"));
  EXPECT_THAT(keys, Contains("smtp.relay.password_file"));
  EXPECT_THAT(keys, Contains("smtp.listeners[].port"));
}

// The generic model on a struct of its own: builders bind members of the right type only,
// and a required setting of a list item must be given.
struct Item {
  std::string name;
  int weight = 0;
};
struct Root {
  bool enabled = false;
  std::vector<Item> items;
};

TEST(SchemaBuilderTest, BindsMembersAndDefaultsListItems) {
  SchemaBuilder<Root> builder;
  builder.Bool("enabled", &Root::enabled, "yes", "Whether it is on.");
  builder.List("items", &Root::items, "Things.",
               [](SectionBuilder<Item>& item) {
                 item.String("name", &Item::name, kRequired, "Its name.");
                 item.Integer("weight", &Item::weight, 0, 10, "5", "How heavy.");
               },
               {{{"name", "a"}}, {{"name", "b"}, {"weight", "7"}}});
  const Schema schema = std::move(builder).Build();

  Root root;
  Binder binder(schema, &root);
  binder.ApplyDefaults();
  ASSERT_THAT(binder.problems(), IsEmpty());
  EXPECT_TRUE(root.enabled);
  ASSERT_EQ(root.items.size(), 2u);
  EXPECT_EQ(root.items[0].name, "a");
  EXPECT_EQ(root.items[0].weight, 5);
  EXPECT_EQ(root.items[1].weight, 7);

  binder.ApplySettings({{"items", "[{weight: 3}]", "test"}});
  EXPECT_THAT(binder.problems(), Contains("test: `items[0].name` is required (a string)"));
}

}  // namespace
}  // namespace mailroom::config
