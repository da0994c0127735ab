#include "tests/integration/smtp_clients.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/integration/child_process.h"

namespace mailroom::testing {
namespace {

// Removes the files WriteTestFile wrote when the test process exits.
class WrittenFiles {
 public:
  ~WrittenFiles() {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }
  void Add(std::string path) {
    absl::MutexLock lock(&mutex_);
    paths_.push_back(std::move(path));
  }

 private:
  absl::Mutex mutex_;
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mutex_);
};

WrittenFiles& Written() {
  static WrittenFiles files;
  return files;
}

}  // namespace

absl::StatusOr<ClientResult> RunSwaks(int port, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/swaks", "--server", absl::StrCat("127.0.0.1:", port)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunToCompletion(argv);
}

absl::StatusOr<ClientResult> RunCurl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "-v"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunToCompletion(argv);
}

absl::StatusOr<ClientResult> RunPythonClient(absl::string_view script,
                                             const std::vector<std::string>& args) {
  // -I: ignore PYTHON* variables and the user site, so only the standard library is used.
  std::vector<std::string> argv = {"/usr/bin/python3", "-I",
                                   absl::StrCat(MAILROOM_CLIENTS_DIR, "/", script)};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunToCompletion(argv);
}

std::string WriteTestFile(absl::string_view name, absl::string_view contents) {
  // Tests run in parallel processes: the process id keeps their files apart.
  const std::string path = absl::StrCat(::testing::TempDir(), "mailroom-e2e-", getpid(), "-", name);
  std::ofstream(path, std::ios::binary)
      .write(contents.data(), static_cast<std::streamsize>(contents.size()));
  Written().Add(path);
  return path;
}

std::string WithCrlf(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace mailroom::testing
