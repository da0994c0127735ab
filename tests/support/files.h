// Reading test files whole.
#ifndef MAILROOM_TESTS_SUPPORT_FILES_H_
#define MAILROOM_TESTS_SUPPORT_FILES_H_

#include <string>

namespace mailroom::testing {

// The bytes of the file at `path`; empty when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace mailroom::testing

#endif  // MAILROOM_TESTS_SUPPORT_FILES_H_
