#include "tests/support/files.h"

#include <fstream>
#include <iterator>

namespace mailroom::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace mailroom::testing
