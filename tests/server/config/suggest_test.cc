#include "server/config/suggest.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mailroom::config {
namespace {

TEST(EditDistanceTest, CountsEditsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("port", "port"), 0);
  EXPECT_EQ(EditDistance("pasword", "password"), 1);  // Insertion.
  EXPECT_EQ(EditDistance("prot", "port"), 1);         // Swap of neighbours.
  EXPECT_EQ(EditDistance("hots", "host"), 1);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("", "abc"), 3);
}

const std::vector<std::string> kKeys = {
    "log",
    "log.level",
    "database",
    "database.url",
    "database.url_file",
    "database.pool_size",
    "smtp",
    "smtp.relay",
    "smtp.relay.host",
    "smtp.relay.password",
    "smtp.relay.password_file",
    "smtp.listeners",
    "smtp.listeners[].port",
    "smtp.listeners[].name",
    "api.address",
    "metrics.address",
};

TEST(ClosestKeyTest, FindsTyposAtEveryDepth) {
  EXPECT_EQ(ClosestKey("lgo", kKeys), "log");
  EXPECT_EQ(ClosestKey("database.pool_sise", kKeys), "database.pool_size");
  EXPECT_EQ(ClosestKey("smtp.relay.pasword", kKeys), "smtp.relay.password");
  EXPECT_EQ(ClosestKey("smtp.relay.password_fiel", kKeys), "smtp.relay.password_file");
  EXPECT_EQ(ClosestKey("smtp.listeners[].prot", kKeys), "smtp.listeners[].port");
}

TEST(ClosestKeyTest, FindsAKeyInTheWrongSectionWhenUnique) {
  EXPECT_EQ(ClosestKey("pool_size", kKeys), "database.pool_size");
  // `address` exists in two sections: no guess.
  EXPECT_EQ(ClosestKey("smtp.address", kKeys), std::nullopt);
}

TEST(ClosestKeyTest, SuggestsNothingWhenNothingIsClose) {
  EXPECT_EQ(ClosestKey("database.flux_capacitor", kKeys), std::nullopt);
  EXPECT_EQ(ClosestKey("colour", kKeys), std::nullopt);
}

TEST(ClosestTextTest, RespectsTheTolerance) {
  const std::vector<std::string> names = {"DATABASE_URL", "API_ADDRESS"};
  EXPECT_EQ(ClosestText("DATABSE_URL", names), "DATABASE_URL");
  EXPECT_EQ(ClosestText("API_ADRES", names), "API_ADDRESS");
  EXPECT_EQ(ClosestText("TEST_DATABASE_URL", names), std::nullopt);
}

}  // namespace
}  // namespace mailroom::config
