// The server session: guard clauses per command, RFC citations where each rule is enforced.
// Per-connection state (greeting, TLS, AUTH) and per-transaction state (the envelope and
// BDAT chunks) are kept apart; ResetTransaction() is the one way to drop the latter.
#include "smtp/session.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "smtp/command_parser.h"
#include "smtp/data_decoder.h"
#include "smtp/reply.h"
#include "smtp/sasl.h"
#include "smtp/transcript.h"

namespace mailroom::smtp {
namespace {

// RFC 4954 §4: AUTH command lines and continuation lines may be up to 12288 octets, more
// than the 512 of other commands, because of base64 payloads.
constexpr size_t kAuthLineLimit = 12288;

enum class Phase {
  kCommand,       // reading command lines
  kData,          // reading DATA content
  kBdat,          // reading a BDAT chunk
  kAuth,          // reading AUTH continuation lines
  kWaitDelivery,  // Next::kDeliver handed out
  kWaitAuth,      // Next::kAuthenticate handed out
  kWaitTls,       // Next::kStartTls handed out
  kClosed,
};

enum class LineStatus { kIncomplete, kOk, kTooLong, kBareLineEnding };

struct Line {
  LineStatus status = LineStatus::kIncomplete;
  std::string text;   // without its line ending
  size_t octets = 0;  // on the wire, line ending included
};

}  // namespace

class Session::State {
 public:
  State(SessionOptions options, SessionInfo info)
      : options_(std::move(options)),
        info_(std::move(info)),
        transcript_(info_.started_at, [this] { return Now(); }),
        tls_(!info_.tls_protocol.empty()) {
    // Implicit TLS: the handshake came before the session; say so as STARTTLS would.
    if (tls_) RecordTlsEstablished();
  }

  std::string Greeting() {
    std::string greeting = MakeReply(ReplyId::kGreeting, options_.hostname).ToString();
    transcript_.Server(greeting);
    return greeting;
  }

  void Receive(absl::string_view bytes) {
    // Bytes arriving while a handshake is pending belong to nobody: RFC 3207 §6 says
    // plaintext sent before TLS must not be acted upon.
    if (phase_ == Phase::kWaitTls || phase_ == Phase::kClosed) return;
    // Consumed input is dropped lazily, so that a long pipelined burst is not shifted once
    // per command.
    if (input_pos_ > 0 && input_pos_ >= input_.size() / 2) {
      input_.erase(0, input_pos_);
      input_pos_ = 0;
    }
    input_.append(bytes.data(), bytes.size());
  }

  Output Advance() {
    Output out;
    out_ = &out;
    Run();
    out_ = nullptr;
    out.replies = std::exchange(replies_, {});
    return out;
  }

  absl::Duration read_timeout() const {
    if (phase_ == Phase::kData || phase_ == Phase::kBdat) {
      return options_.limits.data_block_timeout;
    }
    return options_.limits.command_timeout;
  }

  void Delivered(const absl::Status& status, const std::vector<std::string>& sink_lines) {
    if (phase_ != Phase::kWaitDelivery) return;
    phase_ = Phase::kCommand;
    for (const std::string& line : sink_lines) transcript_.Info(line);
    if (status.ok()) {
      ++message_count_;
      transcript_.Info(
          absl::StrCat("message ", pending_id_, " accepted (", pending_size_, " octets)"));
    } else {
      transcript_.Info(absl::StrCat("message ", pending_id_, " not stored: ", status.ToString()));
    }
    Send(ReplyForDelivery(status, pending_id_));
  }

  void Authenticated(const absl::Status& status) {
    if (phase_ != Phase::kWaitAuth) return;
    phase_ = Phase::kCommand;
    if (status.ok()) {
      authenticated_ = true;
      info_.auth_user = pending_user_;
      info_.auth_mechanism = pending_mechanism_;
      transcript_.Info(
          absl::StrCat("authenticated as ", pending_user_, " (", pending_mechanism_, ")"));
    } else {
      transcript_.Info(absl::StrCat("authentication failed for ", pending_user_, " (",
                                    pending_mechanism_, "): ", status.message()));
    }
    Send(ReplyForAuthentication(status));
  }

  void TlsStarted(absl::string_view protocol, absl::string_view cipher) {
    if (phase_ != Phase::kWaitTls) return;
    phase_ = Phase::kCommand;
    ClearInput();
    tls_ = true;
    info_.tls_protocol = std::string(protocol);
    info_.tls_cipher = std::string(cipher);
    // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS: the EHLO
    // argument, AUTH and the transaction. The client must send EHLO again.
    greeted_ = false;
    esmtp_ = false;
    info_.ehlo_name.clear();
    authenticated_ = false;
    info_.auth_user.clear();
    info_.auth_mechanism.clear();
    ResetTransaction();
    RecordTlsEstablished();
  }

  void RecordTlsEstablished() {
    transcript_.Info(absl::StrCat("TLS established: ", info_.tls_protocol, " ", info_.tls_cipher));
  }

  void TlsFailed(absl::string_view error) {
    std::string text = absl::StrCat("TLS handshake failed: ", error);
    transcript_.Info(text);
    SetOutcome(SessionOutcome::kError, text);
    phase_ = Phase::kClosed;
  }

  void TimedOut() { timed_out_ = true; }

  void ClientDropped(absl::string_view error) {
    dropped_ = true;
    drop_error_ = std::string(error);
  }

  void ShuttingDown() { shutting_down_ = true; }

  SessionRecord Finish() {
    SessionRecord record;
    record.info = info_;
    record.ended_at = Now();
    record.message_count = message_count_;
    record.outcome = outcome_.value_or(SessionOutcome::kClientDropped);
    record.error = error_;
    record.transcript = transcript_.Take();
    return record;
  }

  const SessionInfo& info() const { return info_; }

 private:
  enum class Step { kContinue, kWait };

  absl::Time Now() const { return options_.now ? options_.now() : absl::Now(); }

  void Run() {
    for (;;) {
      if (phase_ == Phase::kClosed) {
        out_->next = Next::kClose;
        return;
      }
      if (dropped_) {
        // Nobody is listening: no reply (session.h).
        transcript_.Info(drop_error_.empty()
                             ? std::string("client dropped the connection")
                             : absl::StrCat("client dropped the connection: ", drop_error_));
        Close(SessionOutcome::kClientDropped, "");
        continue;
      }
      if (timed_out_) {
        std::string text = absl::StrCat("no input within ", absl::FormatDuration(read_timeout()));
        transcript_.Info(absl::StrCat("timeout: ", text));
        Send(MakeReply(ReplyId::kTimeout));
        Close(SessionOutcome::kTimeout, text);
        continue;
      }
      if (options_.limits.max_errors > 0 && errors_ >= options_.limits.max_errors) {
        transcript_.Info(absl::StrCat("too many errors (", errors_, ")"));
        Send(MakeReply(ReplyId::kTooManyErrors));
        Close(SessionOutcome::kError, "too many errors");
        continue;
      }
      Step step = Step::kWait;
      switch (phase_) {
        case Phase::kCommand:
          step = CommandStep();
          break;
        case Phase::kData:
          step = DataStep();
          break;
        case Phase::kBdat:
          step = BdatStep();
          break;
        case Phase::kAuth:
          step = AuthStep();
          break;
        case Phase::kWaitDelivery:
        case Phase::kWaitAuth:
        case Phase::kWaitTls:
          // REQUIRES violated: the completion has not been reported. Ask for nothing new.
          out_->next = Next::kRead;
          step = Step::kWait;
          break;
        case Phase::kClosed:
          continue;
      }
      if (step == Step::kWait) return;
    }
  }

  // Waiting for input is where a shutdown is honoured: never mid-delivery, and not in the
  // middle of message data either, so that a message being sent when the server is told to
  // stop is still received and stored within the grace period (then 421 follows).
  Step WaitForInput() {
    if (shutting_down_ && phase_ != Phase::kData && phase_ != Phase::kBdat) {
      transcript_.Info("server shutting down");
      Send(MakeReply(ReplyId::kShuttingDown));
      Close(SessionOutcome::kServerShutdown, "");
      return Step::kContinue;
    }
    out_->next = Next::kRead;
    return Step::kWait;
  }

  void Close(SessionOutcome outcome, absl::string_view error) {
    SetOutcome(outcome, error);
    phase_ = Phase::kClosed;
  }

  void SetOutcome(SessionOutcome outcome, absl::string_view error) {
    if (outcome_) return;
    outcome_ = outcome;
    error_ = std::string(error);
  }

  void Send(const Reply& reply) {
    std::string text = reply.ToString();
    transcript_.Server(text);
    replies_ += text;
    if (CountsAsError(reply.id)) ++errors_;
  }

  void Send(ReplyId id, absl::string_view argument = "") { Send(MakeReply(id, argument)); }

  void Send(const Rejection& rejection) { Send(rejection.reply, rejection.argument); }

  void ResetTransaction() {
    envelope_.reset();
    decoder_.reset();
    bdat_used_ = false;
    bdat_too_big_ = false;
    bdat_size_ = 0;
    std::string().swap(bdat_message_);
  }

  absl::string_view Pending() const { return absl::string_view(input_).substr(input_pos_); }

  void Consume(size_t octets) {
    input_pos_ += octets;
    if (input_pos_ >= input_.size()) ClearInput();
  }

  void ClearInput() {
    input_.clear();
    input_pos_ = 0;
  }

  size_t LineLimit(absl::string_view line_start) const {
    size_t limit = options_.limits.max_command_line;
    if (phase_ == Phase::kAuth || absl::StartsWithIgnoreCase(line_start, "AUTH ")) {
      limit = std::max(limit, kAuthLineLimit);
    }
    return limit;
  }

  // Takes one line from the input. Lines over the limit are consumed up to their LF and
  // reported once (RFC 5321 §4.5.3.1.4); with reject_bare_line_endings a line must end in
  // CRLF and contain no other CR (the smuggling defence), otherwise a bare LF ends a line.
  Line ReadLine() {
    Line line;
    absl::string_view input = Pending();
    size_t lf = input.find('\n');
    if (lf == absl::string_view::npos) {
      if (discarding_ || input.size() > LineLimit(input)) {
        discarding_ = true;
        discarded_ += input.size();
        ClearInput();
      }
      return line;
    }
    line.octets = lf + 1;
    if (discarding_) {
      line.octets += discarded_;
      discarding_ = false;
      discarded_ = 0;
      Consume(lf + 1);
      line.status = LineStatus::kTooLong;
      return line;
    }
    bool crlf = lf > 0 && input[lf - 1] == '\r';
    line.text = std::string(input.substr(0, crlf ? lf - 1 : lf));
    Consume(lf + 1);
    if (line.octets > LineLimit(line.text)) {
      line.status = LineStatus::kTooLong;
      return line;
    }
    if (options_.limits.reject_bare_line_endings &&
        (!crlf || line.text.find('\r') != std::string::npos)) {
      line.status = LineStatus::kBareLineEnding;
      return line;
    }
    line.status = LineStatus::kOk;
    return line;
  }

  Step CommandStep() {
    if (shutting_down_) return WaitForInput();
    Line line = ReadLine();
    switch (line.status) {
      case LineStatus::kIncomplete:
        return WaitForInput();
      case LineStatus::kTooLong:
        transcript_.Info(
            absl::StrCat("command line of ", line.octets, " octets discarded (too long)"));
        Send(ReplyId::kLineTooLong);
        return Step::kContinue;
      case LineStatus::kBareLineEnding:
        RecordCommand(line.text);
        Send(ReplyId::kBareLineEnding);
        return Step::kContinue;
      case LineStatus::kOk:
        break;
    }
    return Dispatch(line.text);
  }

  // Every command line reaches the transcript through here. An AUTH line may carry
  // credentials in its initial response however it is spelt (tabs for spaces, a bare LF,
  // a mechanism we do not know), so any line whose first word is AUTH keeps only the verb
  // and a well-formed mechanism name (RFC 4422 §3.1: at most 20 of A-Z 0-9 - _).
  void RecordCommand(absl::string_view text) {
    const bool auth =
        text.size() >= 4 && absl::EqualsIgnoreCase(text.substr(0, 4), "AUTH") &&
        (text.size() == 4 || absl::ascii_isspace(static_cast<unsigned char>(text[4])));
    if (!auth) {
      transcript_.Client(text);
      return;
    }
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(text.substr(4));
    size_t mechanism = 0;
    while (mechanism < rest.size() && mechanism < 20 &&
           (absl::ascii_isalnum(static_cast<unsigned char>(rest[mechanism])) ||
            rest[mechanism] == '-' || rest[mechanism] == '_')) {
      ++mechanism;
    }
    std::string recorded = std::string(text.substr(0, 4));
    if (mechanism > 0) absl::StrAppend(&recorded, " ", rest.substr(0, mechanism));
    if (rest.size() > mechanism) absl::StrAppend(&recorded, " <redacted>");
    transcript_.Client(recorded);
  }

  Step Dispatch(absl::string_view text) {
    CommandLine command = SplitCommand(text);
    RecordCommand(text);
    const std::string& args = command.arguments;
    switch (command.verb) {
      case Verb::kEhlo:
        return Helo(args, /*extended=*/true);
      case Verb::kHelo:
        return Helo(args, /*extended=*/false);
      case Verb::kMail:
        return Mail(args);
      case Verb::kRcpt:
        return Rcpt(args);
      case Verb::kData:
        return Data(args);
      case Verb::kBdat:
        return Bdat(args);
      case Verb::kRset:
        if (!args.empty()) return Answer(ReplyId::kSyntax, "RSET");
        ResetTransaction();
        return Answer(ReplyId::kResetOk);
      case Verb::kNoop:
        // RFC 5321 §4.1.1.9: a NOOP argument is ignored.
        return Answer(ReplyId::kOk);
      case Verb::kQuit:
        if (!args.empty()) return Answer(ReplyId::kSyntax, "QUIT");
        Send(ReplyId::kBye);
        Close(SessionOutcome::kQuit, "");
        return Step::kContinue;
      case Verb::kVrfy:
        // RFC 5321 §3.5.3: 252 when the server will not verify but will accept mail.
        if (args.empty()) return Answer(ReplyId::kSyntax, "VRFY <address>");
        return Answer(ReplyId::kCannotVrfy);
      case Verb::kHelp:
        return Answer(ReplyId::kHelp);
      case Verb::kStartTls:
        return StartTls(args);
      case Verb::kAuth:
        return Auth(args);
      case Verb::kExpn:
        return Answer(ReplyId::kNotImplemented);
      case Verb::kUnknown:
        return Answer(ReplyId::kUnknownCommand);
    }
    return Answer(ReplyId::kUnknownCommand);
  }

  Step Answer(ReplyId id, absl::string_view argument = "") {
    Send(id, argument);
    return Step::kContinue;
  }

  Step Answer(const Rejection& rejection) {
    Send(rejection);
    return Step::kContinue;
  }

  bool AuthAdvertised() const {
    // RFC 4954 §4 and §14: plaintext password mechanisms must not be usable without a
    // protected channel unless configured so. Like Postfix's smtpd_tls_auth_only, AUTH is
    // not advertised where it would be refused (538 / 530), so clients STARTTLS first.
    if (options_.auth == AuthPolicy::kNone) return false;
    if (tls_) return true;
    return options_.allow_plaintext_auth && !options_.tls_required;
  }

  Step Helo(const std::string& args, bool extended) {
    auto parsed = ParseHelo(args);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) {
      if (!extended) rejection->argument = "HELO <domain>";
      return Answer(*rejection);
    }
    // RFC 5321 §4.1.4: EHLO/HELO also resets the transaction.
    ResetTransaction();
    greeted_ = true;
    esmtp_ = extended;
    info_.ehlo_name = std::get<std::string>(parsed);
    if (!extended) return Answer(ReplyId::kHelo, options_.hostname);

    std::vector<std::string> lines = {
        options_.hostname, "PIPELINING", absl::StrCat("SIZE ", options_.limits.max_message_size),
        "8BITMIME",        "SMTPUTF8",   "ENHANCEDSTATUSCODES",
        "CHUNKING",        "BINARYMIME", "DSN",
    };
    if (options_.starttls_available && !tls_) lines.push_back("STARTTLS");
    if (AuthAdvertised()) lines.push_back("AUTH PLAIN LOGIN CRAM-MD5");
    std::string reply = FormatMultiline(250, lines);
    transcript_.Server(reply);
    replies_ += reply;
    return Step::kContinue;
  }

  Step Mail(const std::string& args) {
    if (!greeted_) return Answer(ReplyId::kNeedHelo);
    if (options_.tls_required && !tls_) return Answer(ReplyId::kTlsRequired);  // RFC 3207 §4
    if (options_.auth == AuthPolicy::kRequired && !authenticated_) {
      return Answer(ReplyId::kAuthRequired);  // RFC 4954 §6
    }
    if (envelope_) return Answer(ReplyId::kNestedMail);  // RFC 5321 §4.1.4
    auto parsed = ParseMail(args);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return Answer(*rejection);
    MailCommand& mail = std::get<MailCommand>(parsed);
    bool has_parameters = mail.size || !mail.body.empty() || mail.smtputf8 || !mail.ret.empty() ||
                          !mail.envid.empty() || !mail.auth.empty();
    // Service extensions exist only after EHLO (RFC 5321 §4.1.1.11).
    if (!esmtp_ && has_parameters) return Answer(ReplyId::kParametersNeedEhlo);
    // RFC 1870 §6: a declared size over the limit is refused before any data is sent.
    if (mail.size && *mail.size > options_.limits.max_message_size) {
      return Answer(ReplyId::kMessageTooBig);
    }
    Envelope envelope;
    envelope.mail_from = std::move(mail.reverse_path);
    envelope.smtputf8 = mail.smtputf8;
    envelope.body = std::move(mail.body);
    envelope.declared_size = mail.size;
    envelope.dsn_ret = std::move(mail.ret);
    envelope.dsn_envid = std::move(mail.envid);
    envelope_ = std::move(envelope);
    return Answer(ReplyId::kSenderOk);
  }

  Step Rcpt(const std::string& args) {
    if (!envelope_) return Answer(ReplyId::kNeedMail);
    // RFC 5321 §4.5.3.1.10: 452 for recipients over the limit; the client may retry them.
    if (envelope_->recipients.size() >= static_cast<size_t>(options_.limits.max_recipients)) {
      return Answer(ReplyId::kTooManyRecipients);
    }
    auto parsed = ParseRcpt(args, envelope_->smtputf8);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return Answer(*rejection);
    RcptCommand& rcpt = std::get<RcptCommand>(parsed);
    if (!esmtp_ && (!rcpt.notify.empty() || !rcpt.orcpt.empty())) {
      return Answer(ReplyId::kParametersNeedEhlo);
    }
    envelope_->recipients.push_back(
        Recipient{std::move(rcpt.forward_path), std::move(rcpt.notify), std::move(rcpt.orcpt)});
    return Answer(ReplyId::kRecipientOk);
  }

  Step Data(const std::string& args) {
    if (!args.empty()) return Answer(ReplyId::kSyntax, "DATA");
    if (!envelope_) return Answer(ReplyId::kNeedMail);
    if (bdat_used_) return Answer(ReplyId::kDataAfterBdat);  // RFC 3030 §2
    if (envelope_->recipients.empty()) return Answer(ReplyId::kNeedRecipient);
    if (envelope_->body == "BINARYMIME") return Answer(ReplyId::kDataWithBinaryMime);
    decoder_.emplace(
        DataDecoder::Limits{options_.limits.max_text_line, options_.limits.max_message_size});
    Send(ReplyId::kStartMailInput);
    phase_ = Phase::kData;
    return Step::kContinue;
  }

  Step DataStep() {
    Consume(decoder_->Feed(Pending()));
    if (!decoder_->done()) return WaitForInput();
    phase_ = Phase::kCommand;
    transcript_.Info(absl::StrCat("<", decoder_->size(), " bytes of message data>"));
    // One reply after the end of data, the most specific problem first.
    std::optional<ReplyId> refusal;
    if (decoder_->bare_line_ending() && options_.limits.reject_bare_line_endings) {
      refusal = ReplyId::kBareLineEndingInData;
    } else if (decoder_->too_big()) {
      refusal = ReplyId::kMessageTooBig;  // RFC 1870 §6
    } else if (decoder_->line_too_long()) {
      refusal = ReplyId::kTextLineTooLong;  // RFC 5321 §4.5.3.1.6
    }
    if (refusal) {
      transcript_.Info(absl::StrCat("message refused: ", MakeReply(*refusal).text));
      ResetTransaction();
      return Answer(*refusal);
    }
    return StartDelivery(decoder_->TakeMessage());
  }

  Step Bdat(const std::string& args) {
    auto parsed = ParseBdat(args);
    // Without a size the chunk cannot be skipped; the rest of it will read as commands and
    // be refused as such.
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return Answer(*rejection);
    const BdatCommand& bdat = std::get<BdatCommand>(parsed);
    // RFC 3030 §2: a refused BDAT's chunk is still read (and thrown away) before replying.
    chunk_refusal_.reset();
    if (!greeted_ || !esmtp_) {
      chunk_refusal_ = ReplyId::kNeedHelo;
    } else if (!envelope_) {
      chunk_refusal_ = ReplyId::kNeedMail;
    } else if (envelope_->recipients.empty()) {
      chunk_refusal_ = ReplyId::kNeedRecipient;
    }
    chunk_remaining_ = bdat.size;
    chunk_size_ = bdat.size;
    chunk_last_ = bdat.last;
    phase_ = Phase::kBdat;
    return Step::kContinue;
  }

  Step BdatStep() {
    absl::string_view input = Pending();
    size_t take = static_cast<size_t>(
        std::min<int64_t>(chunk_remaining_, static_cast<int64_t>(input.size())));
    if (!chunk_refusal_ && take > 0) {
      bdat_size_ += static_cast<int64_t>(take);
      if (bdat_size_ > options_.limits.max_message_size) {
        bdat_too_big_ = true;
        std::string().swap(bdat_message_);
      } else if (!bdat_too_big_) {
        bdat_message_.append(input.data(), take);
      }
    }
    Consume(take);
    chunk_remaining_ -= static_cast<int64_t>(take);
    if (chunk_remaining_ > 0) return WaitForInput();

    phase_ = Phase::kCommand;
    transcript_.Info(absl::StrCat("<", chunk_size_, " bytes of message data>"));
    if (chunk_refusal_) return Answer(*chunk_refusal_);
    bdat_used_ = true;
    if (bdat_too_big_) {
      // Size limits apply across chunks; the transaction is over (RFC 3030 §2: after a
      // 5xx the client should RSET; any further BDAT gets 503).
      transcript_.Info("message refused: over the size limit");
      ResetTransaction();
      return Answer(ReplyId::kMessageTooBig);
    }
    if (!chunk_last_) return Answer(ReplyId::kChunkReceived, absl::StrCat(chunk_size_));
    return StartDelivery(std::exchange(bdat_message_, {}));
  }

  Step StartDelivery(std::string raw) {
    auto message = std::make_shared<ReceivedMessage>();
    message->id =
        options_.new_id ? options_.new_id() : absl::StrCat(info_.id, ".", message_count_ + 1);
    message->session = info_;
    message->envelope = std::move(*envelope_);
    message->raw = std::move(raw);
    message->received_at = Now();
    pending_id_ = message->id;
    pending_size_ = static_cast<int64_t>(message->raw.size());
    ResetTransaction();
    phase_ = Phase::kWaitDelivery;
    out_->message = std::move(message);
    out_->next = Next::kDeliver;
    return Step::kWait;
  }

  Step StartTls(const std::string& args) {
    if (!args.empty()) return Answer(ReplyId::kSyntax, "STARTTLS");
    if (tls_) return Answer(ReplyId::kAlreadyTls);
    if (!options_.starttls_available) return Answer(ReplyId::kTlsUnavailable);
    if (envelope_) return Answer(ReplyId::kTlsInTransaction);
    Send(ReplyId::kReadyForTls);
    // RFC 3207 §6 (CVE-2011-0411): anything pipelined after STARTTLS arrived in plaintext
    // and must not be executed after the handshake.
    if (!Pending().empty()) {
      transcript_.Info(absl::StrCat("discarded ", Pending().size(),
                                    " octets of plaintext pipelined after STARTTLS"));
      ClearInput();
    }
    phase_ = Phase::kWaitTls;
    out_->next = Next::kStartTls;
    return Step::kWait;
  }

  Step Auth(const std::string& args) {
    if (options_.auth == AuthPolicy::kNone) return Answer(ReplyId::kNotImplemented);
    if (!esmtp_) return Answer(ReplyId::kNeedEhloForAuth);                     // RFC 4954 §4
    if (authenticated_) return Answer(ReplyId::kAlreadyAuthenticated);         // RFC 4954 §4
    if (envelope_) return Answer(ReplyId::kAuthInTransaction);                 // RFC 4954 §4
    if (options_.tls_required && !tls_) return Answer(ReplyId::kTlsRequired);  // RFC 3207 §4
    if (!tls_ && !options_.allow_plaintext_auth) {
      return Answer(ReplyId::kEncryptionRequired);  // RFC 4954 §6
    }
    auto parsed = ParseAuth(args);
    if (auto* rejection = std::get_if<Rejection>(&parsed)) return Answer(*rejection);
    const AuthCommand& auth = std::get<AuthCommand>(parsed);
    std::optional<SaslMechanism> mechanism = ParseSaslMechanism(auth.mechanism);
    if (!mechanism) return Answer(ReplyId::kUnknownMechanism);
    std::string challenge;
    if (*mechanism == SaslMechanism::kCramMd5) {
      challenge = MakeCramMd5Challenge(options_.hostname, Now());
    }
    sasl_.emplace(*mechanism, std::move(challenge));
    return SaslStep(sasl_->Start(auth.initial_response));
  }

  Step AuthStep() {
    Line line = ReadLine();
    switch (line.status) {
      case LineStatus::kIncomplete:
        return WaitForInput();
      case LineStatus::kTooLong:
        transcript_.Info(
            absl::StrCat("AUTH line of ", line.octets, " octets discarded (too long)"));
        sasl_.reset();
        phase_ = Phase::kCommand;
        return Answer(ReplyId::kAuthLineTooLong);
      case LineStatus::kBareLineEnding:
        transcript_.Client("<redacted>");
        sasl_.reset();
        phase_ = Phase::kCommand;
        return Answer(ReplyId::kBareLineEnding);
      case LineStatus::kOk:
        break;
    }
    transcript_.Client("<redacted>");
    return SaslStep(sasl_->Respond(line.text));
  }

  Step SaslStep(SaslExchange::Step step) {
    switch (step.kind) {
      case SaslExchange::Step::Kind::kChallenge:
        phase_ = Phase::kAuth;
        return Answer(ReplyId::kAuthChallenge, step.challenge);
      case SaslExchange::Step::Kind::kRejected:
        sasl_.reset();
        phase_ = Phase::kCommand;
        return Answer(step.rejection);
      case SaslExchange::Step::Kind::kDone:
        break;
    }
    sasl_.reset();
    pending_user_ = step.credentials.username;
    pending_mechanism_ = step.credentials.mechanism;
    phase_ = Phase::kWaitAuth;
    out_->credentials = std::move(step.credentials);
    out_->next = Next::kAuthenticate;
    return Step::kWait;
  }

  SessionOptions options_;
  SessionInfo info_;
  Transcript transcript_;
  Output* out_ = nullptr;  // the Output being built by Advance()
  std::string replies_;    // replies not yet handed out
  std::string input_;      // received; input_[input_pos_..] is not yet consumed
  size_t input_pos_ = 0;
  Phase phase_ = Phase::kCommand;

  // Per connection.
  bool tls_;
  bool greeted_ = false;
  bool esmtp_ = false;
  bool authenticated_ = false;
  int errors_ = 0;
  int message_count_ = 0;
  bool discarding_ = false;  // inside an over-long line
  size_t discarded_ = 0;

  // Per transaction (ResetTransaction).
  std::optional<Envelope> envelope_;
  std::optional<DataDecoder> decoder_;
  bool bdat_used_ = false;
  bool bdat_too_big_ = false;
  int64_t bdat_size_ = 0;
  std::string bdat_message_;

  // The BDAT chunk being read.
  int64_t chunk_remaining_ = 0;
  int64_t chunk_size_ = 0;
  bool chunk_last_ = false;
  std::optional<ReplyId> chunk_refusal_;

  // AUTH in progress.
  std::optional<SaslExchange> sasl_;
  std::string pending_user_;
  std::string pending_mechanism_;

  // Delivery in progress.
  std::string pending_id_;
  int64_t pending_size_ = 0;

  // Events from outside.
  bool timed_out_ = false;
  bool dropped_ = false;
  std::string drop_error_;
  bool shutting_down_ = false;

  std::optional<SessionOutcome> outcome_;
  std::string error_;
};

Session::Session(SessionOptions options, SessionInfo info)
    : state_(std::make_unique<State>(std::move(options), std::move(info))) {}

Session::~Session() = default;

std::string Session::Greeting() { return state_->Greeting(); }

void Session::Receive(absl::string_view bytes) { state_->Receive(bytes); }

Session::Output Session::Advance() { return state_->Advance(); }

absl::Duration Session::read_timeout() const { return state_->read_timeout(); }

void Session::Delivered(const absl::Status& status) { state_->Delivered(status, {}); }

void Session::Delivered(const absl::Status& status,
                        const std::vector<std::string>& transcript_lines) {
  state_->Delivered(status, transcript_lines);
}

void Session::Authenticated(const absl::Status& status) { state_->Authenticated(status); }

void Session::TlsStarted(absl::string_view protocol, absl::string_view cipher) {
  state_->TlsStarted(protocol, cipher);
}

void Session::TlsFailed(absl::string_view error) { state_->TlsFailed(error); }

void Session::TimedOut() { state_->TimedOut(); }

void Session::ClientDropped(absl::string_view error) { state_->ClientDropped(error); }

void Session::ShuttingDown() { state_->ShuttingDown(); }

SessionRecord Session::Finish() { return state_->Finish(); }

const SessionInfo& Session::info() const { return state_->info(); }

}  // namespace mailroom::smtp
