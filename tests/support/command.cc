#include "tests/support/command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace mailroom::testing {
namespace {

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv) {
  const std::string shown = absl::StrJoin(argv, " ");
  // Everything the child needs is prepared before fork(): after it, only exec and _exit.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  const pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    dup2(out_write.get(), STDOUT_FILENO);
    dup2(err_write.get(), STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  out_write.Close();
  err_write.Close();

  std::string out;
  std::string err;
  pollfd fds[2] = {{.fd = out_read.get(), .events = POLLIN, .revents = 0},
                   {.fd = err_read.get(), .events = POLLIN, .revents = 0}};
  std::string* sinks[2] = {&out, &err};
  int open_streams = 2;
  while (open_streams > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return Errno("poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // poll() ignores negative descriptors
        --open_streams;
      }
    }
  }

  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    const std::string how = WIFEXITED(wstatus)
                                ? absl::StrCat("exited with status ", WEXITSTATUS(wstatus))
                                : absl::StrCat("was killed by signal ", WTERMSIG(wstatus));
    return absl::InternalError(
        absl::StrCat("`", shown, "` ", how, ": ", absl::StripAsciiWhitespace(err)));
  }
  return out;
}

}  // namespace mailroom::testing
