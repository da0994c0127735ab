// query_load: the load client of bench/query-api. Calls a running Mailroom's MessageService
// through the generated gRPC stubs and prints latency percentiles per scenario:
// ListMessages (first page, all mailboxes and one mailbox), from:, to: and free-word
// searches of several selectivities (values from the terms file that bench/query_data
// writes), GetMessage of a 4 KiB and of a ~100 KiB multipart message, and WaitForMessage:
// how long after the SMTP `250` of a new message a waiting call returns it.
//
//   query_load --api 127.0.0.1:5000 --smtp 127.0.0.1:2525 --terms terms.txt
//              [--calls 200] [--warmup 20] [--clients 1,4] [--rounds 50]
//
// Every scenario runs `warmup` calls (not measured), then `calls` calls split over
// `clients` threads, each with its own channel (so its own HTTP/2 connection). Latency is
// the wall time of the blocking call on the client. The WaitForMessage rounds are
// sequential: start the call (since = now - 2 s, query subject:<unique token>), let it
// settle for 50 ms, send the message with a minimal raw SMTP exchange, and record the
// time from reading the 250 reply to the call returning (negative when the response came
// first).
//
// Thread-safety: a test program; worker threads share nothing but their result vectors,
// joined before reading.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "mailroom/v1/message_service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace v1 = ::mailroom::v1;

struct Options {
  std::string api = "127.0.0.1:5000";
  std::string smtp = "127.0.0.1:2525";
  std::string terms = "terms.txt";
  int calls = 200;
  int warmup = 20;
  std::vector<int> clients = {1};
  int rounds = 50;
  std::string only;  // run only the scenarios whose name contains this
};

bool ParseOptions(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const absl::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--api") {
      o.api = value;
    } else if (flag == "--smtp") {
      o.smtp = value;
    } else if (flag == "--terms") {
      o.terms = value;
    } else if (flag == "--calls") {
      if (!absl::SimpleAtoi(value, &o.calls) || o.calls <= 0) return false;
    } else if (flag == "--warmup") {
      if (!absl::SimpleAtoi(value, &o.warmup) || o.warmup < 0) return false;
    } else if (flag == "--rounds") {
      if (!absl::SimpleAtoi(value, &o.rounds) || o.rounds < 0) return false;
    } else if (flag == "--only") {
      o.only = value;
    } else if (flag == "--clients") {
      o.clients.clear();
      for (absl::string_view c : absl::StrSplit(value, ',')) {
        int n = 0;
        if (!absl::SimpleAtoi(c, &n) || n <= 0) return false;
        o.clients.push_back(n);
      }
    } else {
      return false;
    }
  }
  return argc % 2 == 1;
}

// terms file: "key value count" lines.
std::multimap<std::string, std::pair<std::string, std::string>> ReadTerms(const std::string& path) {
  std::multimap<std::string, std::pair<std::string, std::string>> terms;
  std::ifstream in(path);
  std::string key, value, count;
  while (in >> key >> value >> count) terms.emplace(key, std::make_pair(value, count));
  return terms;
}

struct Percentiles {
  double p50, p95, p99, max;
};

// Nearest-rank percentiles of `ms` (sorted in place).
Percentiles Summarise(std::vector<double>& ms) {
  std::sort(ms.begin(), ms.end());
  const auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * ms.size()));
    return ms[std::clamp<size_t>(rank, 1, ms.size()) - 1];
  };
  return {at(0.50), at(0.95), at(0.99), ms.back()};
}

double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// One call of a scenario: returns false on an RPC error (printed once per scenario), and
// the number of items it got in `items`.
using Call =
    std::function<bool(v1::MessageService::Stub&, int i, int64_t& items, std::string& error)>;

struct Scenario {
  std::string name;
  std::string detail;  // the query or id, for the table
  Call call;
};

void PrintHeader() {
  std::printf("%-22s %-8s %7s %9s %8s %8s %8s %8s  %s\n", "scenario", "clients", "calls",
              "items/call", "p50_ms", "p95_ms", "p99_ms", "max_ms", "detail");
}

void RunScenario(const Options& o, const Scenario& s, int clients) {
  std::vector<std::unique_ptr<v1::MessageService::Stub>> stubs;
  for (int c = 0; c < clients; ++c) {
    stubs.push_back(v1::MessageService::NewStub(
        grpc::CreateCustomChannel(o.api, grpc::InsecureChannelCredentials(), [c] {
          grpc::ChannelArguments args;
          args.SetInt("bench.client", c);  // distinct arguments: one connection per client
          args.SetMaxReceiveMessageSize(64 << 20);
          return args;
        }())));
  }
  std::string error;
  int64_t items = 0;
  for (int i = 0; i < o.warmup; ++i) {
    if (!s.call(*stubs[i % clients], i, items, error)) break;
  }
  std::vector<std::vector<double>> latencies(clients);
  std::vector<int64_t> item_counts(clients);
  std::vector<std::string> errors(clients);
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      while (true) {
        const int i = next.fetch_add(1);
        if (i >= o.calls) return;
        int64_t got = 0;
        const Clock::time_point start = Clock::now();
        const bool ok = s.call(*stubs[c], i, got, errors[c]);
        latencies[c].push_back(Millis(Clock::now() - start));
        item_counts[c] += got;
        if (!ok) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<double> all;
  int64_t total_items = 0;
  for (int c = 0; c < clients; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    total_items += item_counts[c];
    if (error.empty()) error = errors[c];
  }
  if (!error.empty()) {
    std::printf("%-22s %-8d FAILED: %s\n", s.name.c_str(), clients, error.c_str());
    return;
  }
  const Percentiles p = Summarise(all);
  std::printf("%-22s %-8d %7zu %9.1f %8.2f %8.2f %8.2f %8.2f  %s\n", s.name.c_str(), clients,
              all.size(), static_cast<double>(total_items) / all.size(), p.p50, p.p95, p.p99, p.max,
              s.detail.c_str());
  std::fflush(stdout);
}

Scenario ListScenario(std::string name, std::string mailbox, std::vector<std::string> queries,
                      std::string detail) {
  return {std::move(name), std::move(detail),
          [mailbox = std::move(mailbox), queries = std::move(queries)](
              v1::MessageService::Stub& stub, int i, int64_t& items, std::string& error) {
            v1::ListMessagesRequest request;
            request.set_mailbox(mailbox);
            if (!queries.empty()) request.set_query(queries[i % queries.size()]);
            v1::ListMessagesResponse response;
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
            const grpc::Status status = stub.ListMessages(&context, request, &response);
            if (!status.ok()) {
              error = absl::StrCat(status.error_code(), " ", status.error_message());
              return false;
            }
            items = response.messages_size();
            return true;
          }};
}

Scenario GetScenario(std::string name, std::string id) {
  std::string detail = absl::StrCat("id ", id);
  return {std::move(name), std::move(detail),
          [id = std::move(id)](v1::MessageService::Stub& stub, int, int64_t& items,
                               std::string& error) {
            v1::GetMessageRequest request;
            request.set_id(id);
            v1::GetMessageResponse response;
            grpc::ClientContext context;
            context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
            const grpc::Status status = stub.GetMessage(&context, request, &response);
            if (!status.ok()) {
              error = absl::StrCat(status.error_code(), " ", status.error_message());
              return false;
            }
            items = response.message().attachments_size();
            return true;
          }};
}

// A minimal blocking SMTP client: enough for one message per connection.
class Smtp {
 public:
  explicit Smtp(const std::string& host_port) {
    const size_t colon = host_port.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    int port = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(absl::string_view(host_port).substr(colon + 1), &port)) {
      return;
    }
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) return;
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Smtp() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one whole (possibly multiline) reply; returns its code, 0 on error.
  int Reply() {
    while (true) {
      size_t start = 0;
      while (true) {
        const size_t eol = buffer_.find("\r\n", start);
        if (eol == std::string::npos) break;
        const std::string line = buffer_.substr(start, eol - start);
        start = eol + 2;
        if (line.size() >= 4 && line[3] == '-') continue;
        buffer_.erase(0, start);
        int code = 0;
        return absl::SimpleAtoi(absl::string_view(line).substr(0, 3), &code) ? code : 0;
      }
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return 0;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  int Command(absl::string_view line) { return Send(line) ? Reply() : 0; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

// Sends one message; returns the time the 250 after DATA was read, or nullopt.
std::optional<Clock::time_point> SendMail(const std::string& smtp, const std::string& subject) {
  Smtp client(smtp);
  if (!client.ok() || client.Reply() != 220) return std::nullopt;
  if (client.Command("EHLO bench.example\r\n") != 250) return std::nullopt;
  if (client.Command("MAIL FROM:<waiter@bench.example>\r\n") != 250) return std::nullopt;
  if (client.Command("RCPT TO:<inbox@bench.example>\r\n") != 250) return std::nullopt;
  if (client.Command("DATA\r\n") != 354) return std::nullopt;
  const std::string message = absl::StrCat(
      "From: Waiter <waiter@bench.example>\r\nTo: inbox@bench.example\r\nSubject: ", subject,
      "\r\nMessage-ID: <", subject, "@bench.example>\r\n\r\nYour code is 123456.\r\n.\r\n");
  if (client.Command(message) != 250) return std::nullopt;
  const Clock::time_point at = Clock::now();
  client.Command("QUIT\r\n");
  return at;
}

void RunWaitRounds(const Options& o) {
  auto stub =
      v1::MessageService::NewStub(grpc::CreateChannel(o.api, grpc::InsecureChannelCredentials()));
  std::mt19937_64 rng(std::random_device{}());
  std::vector<double> deltas;
  std::string failure;
  for (int round = 0; round < o.rounds + 3; ++round) {
    const std::string token = absl::StrFormat("qbwait%d%016x", round, rng());
    std::optional<Clock::time_point> returned;
    grpc::Status status;
    std::string got_subject;
    std::thread waiter([&] {
      v1::WaitForMessageRequest request;
      request.set_query(absl::StrCat("subject:", token));
      const auto since = std::chrono::system_clock::now() - std::chrono::seconds(2);
      const int64_t us =
          std::chrono::duration_cast<std::chrono::microseconds>(since.time_since_epoch()).count();
      request.mutable_since()->set_seconds(us / 1000000);
      request.mutable_since()->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
      v1::WaitForMessageResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      status = stub->WaitForMessage(&context, request, &response);
      returned = Clock::now();
      got_subject = response.message().subject();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::optional<Clock::time_point> accepted = SendMail(o.smtp, token);
    waiter.join();
    if (!accepted.has_value()) {
      failure = "SMTP exchange failed";
      break;
    }
    if (!status.ok() || got_subject != token) {
      failure = absl::StrCat("WaitForMessage: ", status.error_code(), " ", status.error_message(),
                             " subject `", got_subject, "`");
      break;
    }
    if (round >= 3) deltas.push_back(Millis(*returned - *accepted));  // 3 warm-up rounds
  }
  if (!failure.empty() || deltas.empty()) {
    std::printf("%-22s %-8d FAILED: %s\n", "wait_after_250", 1, failure.c_str());
    return;
  }
  const Percentiles p = Summarise(deltas);
  std::printf("%-22s %-8d %7zu %9.1f %8.2f %8.2f %8.2f %8.2f  %s (min %.2f)\n", "wait_after_250", 1,
              deltas.size(), 1.0, p.p50, p.p95, p.p99, p.max,
              "ms from 250 to WaitForMessage response", deltas.front());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: query_load [--api H:P] [--smtp H:P] [--terms FILE] [--calls N] "
                 "[--warmup N] [--clients 1,4] [--rounds N] [--only NAME]\n");
    return 2;
  }
  const auto terms = ReadTerms(o.terms);
  const auto values = [&](const std::string& key, const std::string& prefix) {
    std::vector<std::string> out;
    std::string detail;
    auto [begin, end] = terms.equal_range(key);
    for (auto it = begin; it != end; ++it) {
      out.push_back(absl::StrCat(prefix, it->second.first));
      absl::StrAppend(&detail, detail.empty() ? "" : " ", it->second.second);
    }
    return std::make_pair(out, absl::StrCat(out.empty() ? "" : out[0], " ... (", out.size(),
                                            " values; matches: ", detail, ")"));
  };

  std::vector<Scenario> scenarios;
  scenarios.push_back(ListScenario("list_first_page", "", {}, "no query, all mailboxes"));
  scenarios.push_back(ListScenario("list_mailbox_qa", "qa", {}, "mailbox qa (15%)"));
  for (const char* key :
       {"from_1pct", "from_0.1pct", "from_0.01pct", "to_1pct", "to_0.1pct", "to_0.01pct"}) {
    const std::string k = key;
    auto [queries, detail] = values(k, k.substr(0, k.find('_')) + ":");
    if (!queries.empty()) scenarios.push_back(ListScenario(k, "", queries, detail));
  }
  for (const char* key : {"word_50pct", "word_5pct", "word_0.5pct", "word_ref"}) {
    auto [queries, detail] = values(key, "");
    if (!queries.empty()) scenarios.push_back(ListScenario(key, "", queries, detail));
  }
  {
    auto [queries, detail] = values("from_0.1pct", "from:");
    auto [words, word_detail] = values("word_5pct", "");
    if (!queries.empty() && !words.empty()) {
      for (size_t i = 0; i < queries.size(); ++i) queries[i] += " " + words[i % words.size()];
      scenarios.push_back(ListScenario("from_and_word", "", queries, "from_0.1pct + word_5pct"));
    }
  }
  // A 4 KiB message from the first page, and the 100 KiB multipart one.
  {
    auto stub =
        v1::MessageService::NewStub(grpc::CreateChannel(o.api, grpc::InsecureChannelCredentials()));
    v1::ListMessagesRequest request;
    request.set_page_size(1);
    v1::ListMessagesResponse response;
    grpc::ClientContext context;
    if (stub->ListMessages(&context, request, &response).ok() && response.messages_size() > 0) {
      scenarios.push_back(GetScenario("get_message_4k", response.messages(0).id()));
    }
  }
  if (auto it = terms.find("big_id"); it != terms.end()) {
    scenarios.push_back(GetScenario("get_message_100k", it->second.first));
  }

  PrintHeader();
  for (int clients : o.clients) {
    for (const Scenario& s : scenarios) {
      if (!o.only.empty() && s.name.find(o.only) == std::string::npos) continue;
      RunScenario(o, s, clients);
    }
  }
  if (o.rounds > 0 && (o.only.empty() || o.only == "wait")) RunWaitRounds(o);
  return 0;
}
