#include "server/config/file_text.h"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mailroom::config {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

absl::Status ErrnoStatus(int error) {
  const std::string reason = std::generic_category().message(error);
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(reason);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(reason);
    default:
      return absl::InternalError(reason);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return ErrnoStatus(errno);
  std::string text;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, n);
  // A directory opens fine on Linux and fails here, with EISDIR.
  if (std::ferror(file.get())) return ErrnoStatus(errno);
  return text;
}

std::string WithoutTrailingNewline(std::string text) {
  if (text.empty() || text.back() != '\n') return text;
  text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

}  // namespace mailroom::config
