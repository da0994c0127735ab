// A private temporary directory for one test, removed with everything in it at the end.
// Not thread-safe.

#ifndef MAILROOM_TESTS_SERVER_CONFIG_TEMP_DIR_H_
#define MAILROOM_TESTS_SERVER_CONFIG_TEMP_DIR_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace mailroom::config {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "config_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `content` to the file `name` in the directory and returns its path.
  std::string Write(const std::string& name, const std::string& content) {
    const std::string file = Path(name);
    std::ofstream out(file, std::ios::binary);
    out << content;
    if (!out) ADD_FAILURE() << "cannot write " << file;
    return file;
  }

  std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace mailroom::config

#endif  // MAILROOM_TESTS_SERVER_CONFIG_TEMP_DIR_H_
