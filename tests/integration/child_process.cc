#include "tests/integration/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace mailroom::testing {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const Environment& environment) {
  char output_template[] = "/tmp/mailroom-child-XXXXXX";
  const int output_fd = mkstemp(output_template);
  if (output_fd < 0) return absl::InternalError("mkstemp failed");

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    for (const auto& [name, value] : environment) setenv(name.c_str(), value.c_str(), 1);
    dup2(output_fd, STDOUT_FILENO);
    dup2(output_fd, STDERR_FILENO);
    // The test runner may block signals; the child must see SIGTERM like in production.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(output_fd);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, output_template));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  unlink(output_path_.c_str());
}

void ChildProcess::Signal(int signal) {
  if (!reaped_) kill(pid_, signal);
}

std::optional<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!reaped_) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (absl::Now() > deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (exit_code_ < 0) return std::nullopt;
  return exit_code_;
}

std::string ChildProcess::Output() const {
  std::ifstream file(output_path_);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

bool ChildProcess::WaitForOutput(const std::string& text, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (Output().find(text) == std::string::npos) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

absl::StatusOr<std::pair<int, std::string>> RunToCompletion(
    const std::vector<std::string>& argv, const ChildProcess::Environment& environment,
    absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(argv, environment);
  if (!child.ok()) return child.status();
  std::optional<int> exit_code = (*child)->Wait(timeout);
  if (!exit_code.has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " did not exit in time; output:\n", (*child)->Output()));
  }
  return std::make_pair(*exit_code, (*child)->Output());
}

int FreePort() {
  // The kernel may hand the same ephemeral port to two probes in a row (each probe closes
  // its socket at once), and a test takes several ports before the binary binds any: so a
  // port handed out once by this process is never handed out again.
  static absl::Mutex mu(absl::kConstInit);
  static absl::flat_hash_set<int>* const handed_out = new absl::flat_hash_set<int>();
  absl::MutexLock lock(&mu);
  for (;;) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    const int port = ntohs(address.sin_port);
    if (handed_out->insert(port).second) return port;
  }
}

std::string TestEnvironment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace mailroom::testing
