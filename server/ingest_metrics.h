// IngestMetrics: the capture path's group-commit writer (storage::IngestWriter) as
// Prometheus metrics, read from its Stats() at each scrape:
//
//   mailroom_ingest_batch_messages                 histogram: messages per committed
//                                                  transaction (is group commit grouping?)
//   mailroom_ingest_transactions_total{result}     committed, failed
//   mailroom_ingest_sessions_total{result}         session rows committed, failed (lost with
//                                                  their transaction), rejected (queue full)
//   mailroom_ingest_queued_messages / _bytes / _sessions
//                                                  waiting for a writer (does the database
//                                                  keep up?)
//
// Thread-safety: Collect() may run on any thread (the metrics server's).
#ifndef MAILROOM_SERVER_INGEST_METRICS_H_
#define MAILROOM_SERVER_INGEST_METRICS_H_

#include <memory>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "storage/ingest_writer.h"

namespace mailroom::server {

class IngestMetrics final : public prometheus::Collectable {
 public:
  // Keeps `writer` alive as long as a scrape may read it.
  explicit IngestMetrics(std::shared_ptr<const storage::IngestWriter> writer)
      : writer_(std::move(writer)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::shared_ptr<const storage::IngestWriter> writer_;
};

}  // namespace mailroom::server

#endif  // MAILROOM_SERVER_INGEST_METRICS_H_
