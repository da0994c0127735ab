// query_data: the data generator of bench/query-api. Writes N synthetic captured messages
// (about 4 KiB each) as PostgreSQL COPY text rows for the staging table that bench/query-api
// creates, and a terms file naming search values of known selectivity for the load client.
//
// Each message is a real RFC 5322 message (CRLF line ends) and its summary columns come
// from smtp::SummarizeMessage, the function the capture path calls, so the stored rows are
// what capturing the same bytes over SMTP would have stored; the script turns search_text
// into search_vector with the ingest statement's expression. Content is random but
// realistic in shape: senders, recipients and body words are drawn from Zipf distributions
// over thousands of values (so a few senders and words are everywhere and most are rare),
// subjects follow a few notification templates, one message in ten is multipart, and each
// message carries a reference code shared with only a handful of others. received_at spans
// the 30 days before now, ids are UUIDv7 of received_at (time order, as ids.h makes them).
//
// One extra message is a ~100 KiB multipart/mixed (text, HTML, base64 attachment) for the
// GetMessage figure; its id is written to the terms file as `big_id`.
//
//   query_data --messages 1000000 --terms terms.txt | psql -c "COPY bench_staging FROM STDIN"
//
// Thread-safety: a single-threaded program.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "smtp/mime_summary.h"

namespace {

constexpr int kVocabulary = 8000;
constexpr int kSenders = 3000;
constexpr int kRecipients = 5000;
constexpr int kReferenceCodes = 200000;
constexpr size_t kTargetSize = 4096;

// The mailboxes bench/query-api creates (besides `default`), with the share of messages
// filed in each; 2% of messages are also filed in a second mailbox.
struct MailboxShare {
  const char* id;
  double share;
};
constexpr MailboxShare kMailboxes[] = {
    {"00000000-0000-7000-8000-000000000001", 0.70},  // default
    {"00000000-0000-7000-8000-0000000000a1", 0.15},  // qa
    {"00000000-0000-7000-8000-0000000000a2", 0.10},  // staging
    {"00000000-0000-7000-8000-0000000000a3", 0.05},  // marketing
};

// Samples ranks 0..n-1 with probability proportional to 1 / (rank + 1)^s.
class Zipf {
 public:
  Zipf(int n, double s) : cdf_(n) {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(i + 1, s);
      cdf_[i] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

// Pronounceable distinct words of 2-4 syllables.
std::vector<std::string> MakeWords(int n, std::mt19937_64& rng) {
  static constexpr const char* kOnsets[] = {"b",  "c",  "d",  "f",  "g",  "h",  "j", "k", "l",
                                            "m",  "n",  "p",  "r",  "s",  "t",  "v", "w", "z",
                                            "br", "ch", "st", "tr", "pl", "gr", "sh"};
  static constexpr const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou", "ea"};
  std::vector<std::string> words;
  while (static_cast<int>(words.size()) < n) {
    const int syllables = 2 + static_cast<int>(rng() % 3);
    std::string w;
    for (int i = 0; i < syllables; ++i) {
      w += kOnsets[rng() % std::size(kOnsets)];
      w += kVowels[rng() % std::size(kVowels)];
    }
    if (rng() % 3 == 0) w += "n";
    words.push_back(w);
    if (static_cast<int>(words.size()) == n) {
      std::sort(words.begin(), words.end());
      words.erase(std::unique(words.begin(), words.end()), words.end());
      std::shuffle(words.begin(), words.end(), rng);
    }
  }
  return words;
}

struct Person {
  std::string name;
  std::string address;
};

std::vector<Person> MakePeople(int n, const char* tag, const std::vector<std::string>& words,
                               std::mt19937_64& rng) {
  static constexpr const char* kFirst[] = {
      "Ann",   "Bob",  "Carla", "Dev",  "Emma",  "Farid", "Grace", "Hiro", "Ines", "Jon",
      "Kemal", "Lena", "Mario", "Nina", "Oscar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
      "Umar",  "Vera", "Wei",   "Xena", "Yusuf", "Zoe",   "Alice", "Ben",  "Chen", "Dana"};
  static constexpr const char* kDomains[] = {"example.com", "example.org", "shop.example",
                                             "corp.example", "mail.example.net"};
  std::vector<Person> people;
  people.reserve(n);
  for (int i = 0; i < n; ++i) {
    const std::string first = kFirst[rng() % std::size(kFirst)];
    std::string last = words[rng() % words.size()];
    last[0] = static_cast<char>(last[0] - 'a' + 'A');
    std::string local = absl::StrCat(first, ".", last, i, tag);
    for (char& c : local) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    people.push_back({absl::StrCat(first, " ", last),
                      absl::StrCat(local, "@", kDomains[rng() % std::size(kDomains)])});
  }
  return people;
}

// UUIDv7 of `time` (RFC 9562 §5.7) with random tail.
std::string UuidV7(absl::Time time, std::mt19937_64& rng) {
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(time));
  const uint64_t r1 = rng(), r2 = rng();
  return absl::StrFormat("%08x-%04x-7%03x-%04x-%012x", ms >> 16, ms & 0xffff, r1 & 0xfff,
                         0x8000 | ((r1 >> 12) & 0x3fff), r2 & 0xffffffffffffULL);
}

// Escapes a value for COPY's text format.
void AppendCopy(std::string& out, absl::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

void AppendField(std::string& out, absl::string_view value, bool last = false) {
  AppendCopy(out, value);
  out.push_back(last ? '\n' : '\t');
}

void AppendNullable(std::string& out, const std::string& value) {
  if (value.empty()) {
    out += "\\N\t";
  } else {
    AppendField(out, value);
  }
}

std::string RfcDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", t, absl::UTCTimeZone());
}

std::string Mailbox(const Person& p) { return absl::StrCat(p.name, " <", p.address, ">"); }

// Word lines of about `bytes` bytes, CRLF-terminated, 60-76 characters each.
std::string Lines(size_t bytes, const std::vector<std::string>& words, const Zipf& zipf,
                  std::mt19937_64& rng, std::vector<int>* used) {
  std::string text;
  std::string line;
  while (text.size() < bytes) {
    const int w = zipf(rng);
    if (used != nullptr) used->push_back(w);
    if (!line.empty()) line.push_back(' ');
    line += words[w];
    if (line.size() > 60) {
      text += line;
      text += rng() % 8 == 0 ? ".\r\n\r\n" : "\r\n";
      line.clear();
    }
  }
  if (!line.empty()) absl::StrAppend(&text, line, "\r\n");
  return text;
}

std::string Base64Lines(size_t bytes, std::mt19937_64& rng) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  while (out.size() < bytes) {
    for (int i = 0; i < 76; ++i) out.push_back(kAlphabet[rng() % 64]);
    out += "\r\n";
  }
  return out;
}

// The ~100 KiB multipart message of the GetMessage figure.
std::string BigMessage(const Person& from, const Person& to, absl::Time t, const std::string& id,
                       const std::vector<std::string>& words, const Zipf& zipf,
                       std::mt19937_64& rng) {
  std::string text = Lines(24 * 1024, words, zipf, rng, nullptr);
  std::string html =
      absl::StrCat("<html><body>\r\n<p>", Lines(28 * 1024, words, zipf, rng, nullptr),
                   "</p>\r\n</body></html>\r\n");
  return absl::StrCat(
      "From: ", Mailbox(from), "\r\nTo: ", Mailbox(to),
      "\r\nSubject: Quarterly report with attachment\r\nDate: ", RfcDate(t), "\r\nMessage-ID: <",
      id, "@bench.example>\r\nMIME-Version: 1.0\r\n",
      "Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n\r\n",
      "This is a multi-part message in MIME format.\r\n\r\n--outer-b\r\n",
      "Content-Type: multipart/alternative; boundary=\"inner-b\"\r\n\r\n--inner-b\r\n",
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", text,
      "\r\n--inner-b\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 7bit\r\n\r\n",
      html, "\r\n--inner-b--\r\n\r\n--outer-b\r\n",
      "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n",
      Base64Lines(48 * 1024, rng), "\r\n--outer-b--\r\n");
}

struct Options {
  int64_t messages = 1000000;
  std::string terms_path = "terms.txt";
  uint64_t seed = 42;
};

bool ParseOptions(int argc, char** argv, Options& options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const absl::string_view flag = argv[i];
    if (flag == "--messages") {
      if (!absl::SimpleAtoi(argv[i + 1], &options.messages)) return false;
    } else if (flag == "--terms") {
      options.terms_path = argv[i + 1];
    } else if (flag == "--seed") {
      if (!absl::SimpleAtoi(argv[i + 1], &options.seed)) return false;
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && options.messages > 0;
}

// Picks up to `count` indexes whose count is nearest `target`, nearest first.
std::vector<int> NearestCounts(const std::vector<int64_t>& counts, double target, int count) {
  std::vector<int> order(counts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return std::abs(counts[a] - target) < std::abs(counts[b] - target);
  });
  order.resize(std::min<size_t>(order.size(), count));
  return order;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    std::fprintf(stderr, "usage: query_data [--messages N] [--terms FILE] [--seed S]\n");
    return 2;
  }
  std::mt19937_64 rng(options.seed);
  const std::vector<std::string> words = MakeWords(kVocabulary, rng);
  const std::vector<Person> senders = MakePeople(kSenders, "", words, rng);
  const std::vector<Person> recipients = MakePeople(kRecipients, "r", words, rng);
  const Zipf word_zipf(static_cast<int>(words.size()), 1.0);
  const Zipf sender_zipf(kSenders, 1.0);
  const Zipf recipient_zipf(kRecipients, 0.9);

  // Document frequencies, for picking terms of known selectivity.
  std::vector<int64_t> word_df(words.size()), sender_df(kSenders), recipient_df(kRecipients);
  std::vector<int64_t> word_stamp(words.size(), -1), recipient_stamp(kRecipients, -1);

  const absl::Time end = absl::Now() - absl::Minutes(1);
  const absl::Duration step = absl::Hours(24 * 30) / options.messages;
  absl::Time t = end - absl::Hours(24 * 30);
  const int64_t big_at = options.messages / 2;
  std::string big_id;

  std::string out;
  std::vector<int> used;
  for (int64_t n = 0; n <= options.messages; ++n) {
    t += step / 2 + absl::Nanoseconds(rng() % absl::ToInt64Nanoseconds(step));
    const std::string id = UuidV7(t, rng);
    const int s = sender_zipf(rng);
    const Person& from = senders[s];
    const int rcpt_count = 1 + static_cast<int>(rng() % 100 < 20) + (rng() % 100 < 5);
    std::vector<int> rcpts;
    for (int i = 0; i < rcpt_count; ++i) rcpts.push_back(recipient_zipf(rng));
    const bool with_cc = rcpt_count > 1 && rng() % 2 == 0;

    std::string raw;
    used.clear();
    if (n == big_at) {
      raw = BigMessage(from, recipients[rcpts[0]], t, id, words, word_zipf, rng);
      big_id = id;
    } else {
      std::string subject;
      switch (rng() % 5) {
        case 0:
          subject = absl::StrCat("Your order ", 100000 + rng() % 900000, " has shipped");
          break;
        case 1:
          subject = absl::StrCat("Reset your password for ", words[word_zipf(rng)]);
          break;
        case 2:
          subject =
              absl::StrCat("Weekly report: ", words[word_zipf(rng)], " ", words[word_zipf(rng)]);
          break;
        case 3:
          subject = absl::StrCat("Invoice ", 1000 + rng() % 9000, " from ", words[word_zipf(rng)]);
          break;
        default:
          subject = absl::StrCat(words[word_zipf(rng)], " ", words[word_zipf(rng)], " ",
                                 words[word_zipf(rng)], " update");
      }
      std::string to = Mailbox(recipients[rcpts[0]]);
      std::string cc;
      for (int i = 1; i < rcpt_count; ++i) {
        std::string& list = with_cc ? cc : to;
        if (!list.empty()) list += ", ";
        list += Mailbox(recipients[rcpts[i]]);
      }
      std::string head = absl::StrCat("From: ", Mailbox(from), "\r\nTo: ", to, "\r\n");
      if (!cc.empty()) absl::StrAppend(&head, "Cc: ", cc, "\r\n");
      absl::StrAppend(&head, "Subject: ", subject, "\r\nDate: ", RfcDate(t - absl::Seconds(2)),
                      "\r\nMessage-ID: <", id, "@bench.example>\r\nMIME-Version: 1.0\r\n");
      const std::string reference =
          absl::StrCat("Reference: ref", rng() % kReferenceCodes, "\r\n\r\n");
      if (rng() % 10 == 0) {
        const size_t room = kTargetSize > head.size() + 600 ? kTargetSize - head.size() - 600 : 0;
        raw =
            absl::StrCat(head, "Content-Type: multipart/alternative; boundary=\"b", n,
                         "\"\r\n\r\n--b", n, "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
                         reference, Lines(room / 2, words, word_zipf, rng, &used), "\r\n--b", n,
                         "\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>",
                         Lines(room / 2 - 40, words, word_zipf, rng, &used),
                         "</p></body></html>\r\n--b", n, "--\r\n");
      } else {
        absl::StrAppend(&head, "Content-Type: text/plain; charset=utf-8\r\n", "\r\n", reference);
        const size_t room = kTargetSize > head.size() ? kTargetSize - head.size() : 0;
        raw = absl::StrCat(head, Lines(room, words, word_zipf, rng, &used));
      }
    }

    // Counted only for the ordinary messages, the population the terms are picked from.
    if (n != big_at) {
      ++sender_df[s];
      for (int w : used) {
        if (word_stamp[w] != n) {
          word_stamp[w] = n;
          ++word_df[w];
        }
      }
      for (int r : rcpts) {
        if (recipient_stamp[r] != n) {
          recipient_stamp[r] = n;
          ++recipient_df[r];
        }
      }
    }

    const mailroom::smtp::MessageSummary summary = mailroom::smtp::SummarizeMessage(raw);
    std::vector<std::string> rcpt_addresses, mailbox_ids;
    for (int r : rcpts) rcpt_addresses.push_back(recipients[r].address);
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    size_t mb = 0;
    while (mb + 1 < std::size(kMailboxes) && u > kMailboxes[mb].share) {
      u -= kMailboxes[mb].share;
      ++mb;
    }
    mailbox_ids.push_back(kMailboxes[mb].id);
    if (rng() % 50 == 0) mailbox_ids.push_back(kMailboxes[(mb + 1) % std::size(kMailboxes)].id);
    const bool tls = rng() % 2 == 0;
    const bool auth = rng() % 5 == 0;

    AppendField(out, id);
    AppendField(out, absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone()));
    AppendField(out, UuidV7(t - absl::Milliseconds(5), rng));  // session_id
    AppendNullable(out, auth ? absl::StrCat("svc-", rng() % 20) : "");
    AppendField(out, from.address);  // envelope_from
    AppendField(out, absl::StrCat(raw.size()));
    AppendNullable(out, summary.from);
    AppendNullable(out, summary.to);
    AppendNullable(out, summary.cc);
    AppendNullable(out, summary.subject);
    AppendNullable(
        out, summary.date.has_value()
                 ? absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", *summary.date, absl::UTCTimeZone())
                 : "");
    AppendNullable(out, summary.message_id);
    AppendField(out, summary.has_attachments ? "t" : "f");
    AppendField(out, absl::StrCat("10.0.", rng() % 8, ".", 1 + rng() % 250));
    AppendField(out, absl::StrCat("app-", rng() % 40, ".internal.example"));
    AppendNullable(out, tls ? "TLSv1.3" : "");
    AppendNullable(out, tls ? "TLS_AES_256_GCM_SHA384" : "");
    AppendNullable(out, tls ? "f" : "");
    AppendNullable(out, auth ? "PLAIN" : "");
    AppendField(out, rng() % 4 == 0 ? absl::StrCat("[[\"SIZE\",\"", raw.size(), "\"]]") : "[]");
    AppendField(out, summary.text_body);
    AppendField(out, raw);
    AppendField(out, absl::StrCat("{", absl::StrJoin(rcpt_addresses, ","), "}"));
    AppendField(out, absl::StrCat("{", absl::StrJoin(mailbox_ids, ","), "}"), true);
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) return 1;

  // Terms of known selectivity: share of messages that contain them.
  const double total = static_cast<double>(options.messages);
  std::ofstream terms(options.terms_path);
  const auto emit = [&](const char* key, const std::vector<int64_t>& df, double share,
                        const auto& name) {
    for (int i : NearestCounts(df, share * total, 5)) {
      terms << key << ' ' << name(i) << ' ' << df[i] << '\n';
    }
  };
  const auto word = [&](int i) { return words[i]; };
  const auto sender = [&](int i) { return senders[i].address; };
  const auto recipient = [&](int i) { return recipients[i].address; };
  emit("word_50pct", word_df, 0.5, word);
  emit("word_5pct", word_df, 0.05, word);
  emit("word_0.5pct", word_df, 0.005, word);
  emit("from_1pct", sender_df, 0.01, sender);
  emit("from_0.1pct", sender_df, 0.001, sender);
  emit("from_0.01pct", sender_df, 0.0001, sender);
  emit("to_1pct", recipient_df, 0.01, recipient);
  emit("to_0.1pct", recipient_df, 0.001, recipient);
  emit("to_0.01pct", recipient_df, 0.0001, recipient);
  for (int i = 0; i < 5; ++i) {
    terms << "word_ref ref" << (rng() % kReferenceCodes) << ' '
          << options.messages / kReferenceCodes << '\n';
  }
  terms << "big_id " << big_id << " 1\n";
  return terms.good() ? 0 : 1;
}
