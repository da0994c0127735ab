#include "smtp/engine_log.h"

namespace mailroom::smtp {
namespace {

class DiscardingLog final : public EngineLog {
 public:
  void Log(LogSeverity, absl::string_view, std::initializer_list<Field>) override {}
};

}  // namespace

EngineLog& DiscardingEngineLog() {
  static DiscardingLog* const log = new DiscardingLog();
  return *log;
}

}  // namespace mailroom::smtp
