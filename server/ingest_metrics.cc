#include "server/ingest_metrics.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace mailroom::server {
namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  return prometheus::MetricFamily{
      .name = std::move(name), .help = std::move(help), .type = type, .metric = {}};
}

prometheus::ClientMetric Gauge(double value) {
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  return metric;
}

prometheus::ClientMetric CounterWithResult(const std::string& result, double value) {
  prometheus::ClientMetric metric;
  metric.label = {{.name = "result", .value = result}};
  metric.counter.value = value;
  return metric;
}

// The writer's batch-size buckets as a Prometheus histogram (cumulative counts, +Inf last).
prometheus::ClientMetric BatchSizeHistogram(const storage::IngestStats& stats) {
  prometheus::ClientMetric metric;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < stats.batch_size_buckets.size(); ++i) {
    cumulative += static_cast<uint64_t>(stats.batch_size_buckets[i]);
    const double bound = i < storage::kBatchSizeBucketBounds.size()
                             ? storage::kBatchSizeBucketBounds[i]
                             : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({.cumulative_count = cumulative, .upper_bound = bound});
  }
  metric.histogram.sample_count = cumulative;
  // Every committed message was in exactly one committed batch with messages.
  metric.histogram.sample_sum = static_cast<double>(stats.messages_committed);
  return metric;
}

}  // namespace

std::vector<prometheus::MetricFamily> IngestMetrics::Collect() const {
  using prometheus::MetricType;
  const storage::IngestStats stats = writer_->Stats();
  std::vector<prometheus::MetricFamily> families;

  families.push_back(Family("mailroom_ingest_batch_messages",
                            "Messages per committed transaction of the capture path "
                            "(group commit).",
                            MetricType::Histogram));
  families.back().metric.push_back(BatchSizeHistogram(stats));

  const auto add_counters = [&families](std::string name, std::string help,
                                        std::vector<std::pair<std::string, int64_t>> results) {
    families.push_back(Family(std::move(name), std::move(help), MetricType::Counter));
    for (const auto& [result, value] : results) {
      families.back().metric.push_back(CounterWithResult(result, static_cast<double>(value)));
    }
  };
  add_counters("mailroom_ingest_transactions_total",
               "Capture transactions (batches of messages and session rows) by result.",
               {{"committed", stats.batches_committed}, {"failed", stats.batches_failed}});
  add_counters("mailroom_ingest_sessions_total",
               "SMTP session records by result: committed, failed (lost with their "
               "transaction) or rejected (queue full, stopping).",
               {{"committed", stats.sessions_committed},
                {"failed", stats.sessions_failed},
                {"rejected", stats.sessions_rejected}});

  const auto add_gauge = [&families](std::string name, std::string help, double value) {
    families.push_back(Family(std::move(name), std::move(help), MetricType::Gauge));
    families.back().metric.push_back(Gauge(value));
  };
  add_gauge("mailroom_ingest_queued_messages",
            "Received messages waiting for a capture transaction.", stats.queued_messages);
  add_gauge("mailroom_ingest_queued_bytes", "Raw bytes of the messages waiting.",
            static_cast<double>(stats.queued_bytes));
  add_gauge("mailroom_ingest_queued_sessions", "Session records waiting.", stats.queued_sessions);
  return families;
}

}  // namespace mailroom::server
