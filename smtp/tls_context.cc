#include "smtp/tls_context.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace mailroom::smtp {
namespace {

// Every OpenSSL object is owned by a unique_ptr with OpenSSL's own free function.
template <auto kFree>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Freer<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Freer<SSL_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Freer<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Freer<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Freer<GENERAL_NAME_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Freer<ASN1_OCTET_STRING_free>>;
using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, Freer<ASN1_IA5STRING_free>>;
using FilePtr = std::unique_ptr<std::FILE, Freer<std::fclose>>;

constexpr absl::string_view kCertOption = "smtp.tls.cert_file";
constexpr absl::string_view kKeyOption = "smtp.tls.key_file";

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, as in Mozilla's "intermediate"
// profile without the finite-field DHE suites (slow and rarely needed by mail clients).
// TLS 1.3 suites are OpenSSL's defaults, which are all acceptable.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Resumed sessions must belong to this server's contexts.
constexpr unsigned char kSessionIdContext[] = "mailroom-smtp";

constexpr long kOneHour = 60 * 60;
constexpr long kOneYear = 365 * 24 * kOneHour;

// A private key or certificate is never read with a passphrase: without this callback
// OpenSSL would prompt on the terminal for an encrypted key.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Drains this thread's OpenSSL error queue into one line ("error:...:no start line; ...").
// Draining matters: the queue is per thread and would otherwise leak into unrelated calls
// made later on the same (I/O) thread.
std::string OpenSslErrors() {
  std::vector<std::string> reasons;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    reasons.emplace_back(buffer);
  }
  if (reasons.empty()) return "unknown OpenSSL error";
  return absl::StrJoin(reasons, "; ");
}

absl::Status OpenSslInternal(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslErrors()));
}

// Reads a whole file; errors name the option and the file.
absl::StatusOr<std::string> ReadFile(absl::string_view option, const std::string& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " ", path, ": cannot open: ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[16 * 1024];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    contents.append(buffer, n);
  }
  if (std::ferror(file.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " ", path, ": cannot read: ", std::strerror(errno)));
  }
  return contents;
}

BioPtr MemoryBio(const std::string& contents) {
  return BioPtr(BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size())));
}

// True (and the error queue cleared) when the last PEM read failed only because no further
// PEM block of the wanted kind was left: the normal end of a chain.
bool AtEndOfPem() {
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return true;
  }
  return false;
}

struct CertificateChain {
  X509Ptr leaf;
  std::vector<X509Ptr> intermediates;
};

absl::StatusOr<CertificateChain> ReadCertificateChain(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(kCertOption, path);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemoryBio(*pem);
  if (bio == nullptr) return OpenSslInternal("BIO_new_mem_buf");

  CertificateChain chain;
  // The first certificate is the server's own (as SSL_CTX_use_certificate_chain_file reads
  // it, including any trust settings); the rest are intermediates in order.
  chain.leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, NoPassphrase, nullptr));
  if (chain.leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(kCertOption, " ", path, ": no certificate found (", OpenSslErrors(), ")"));
  }
  while (true) {
    X509Ptr next(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (next == nullptr) {
      if (AtEndOfPem()) break;
      return absl::InvalidArgumentError(absl::StrCat(
          kCertOption, " ", path, ": unreadable certificate in the chain (", OpenSslErrors(), ")"));
    }
    chain.intermediates.push_back(std::move(next));
  }
  return chain;
}

absl::StatusOr<PkeyPtr> ReadPrivateKey(absl::string_view option, const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(option, path);
  if (!pem.ok()) return pem.status();
  BioPtr bio = MemoryBio(*pem);
  if (bio == nullptr) return OpenSslInternal("BIO_new_mem_buf");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(option, " ", path, ": no usable private key found (", OpenSslErrors(), ")"));
  }
  return key;
}

// Hostnames for which a generated certificate also names the loopback addresses, so that a
// developer's client connecting to 127.0.0.1 or ::1 can match it.
bool IsLocalhostName(absl::string_view hostname) {
  std::string lower = absl::AsciiStrToLower(hostname);
  return lower == "localhost" || absl::EndsWith(lower, ".localhost") ||
         lower == "localhost.localdomain";
}

absl::Status AddGeneralName(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return OpenSslInternal("GENERAL_NAME_new");
  GENERAL_NAME_set0_value(name.get(), type, value);  // takes ownership of value
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
    return OpenSslInternal("sk_GENERAL_NAME_push");
  }
  name.release();  // now owned by `names`
  return absl::OkStatus();
}

absl::Status AddIpName(GENERAL_NAMES* names, const char* address) {
  Asn1OctetStringPtr ip(a2i_IPADDRESS(address));
  if (ip == nullptr) return OpenSslInternal(absl::StrCat("a2i_IPADDRESS ", address));
  absl::Status status = AddGeneralName(names, GEN_IPADD, ip.get());
  if (status.ok()) ip.release();
  return status;
}

// subjectAltName built from GENERAL_NAME values rather than a config string
// ("DNS:<hostname>"), so that a hostname containing ',' or ':' cannot add names.
absl::Status AddSubjectAltName(X509* cert, const std::string& hostname) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslInternal("GENERAL_NAMES_new");
  if (Asn1OctetStringPtr literal(a2i_IPADDRESS(hostname.c_str())); literal != nullptr) {
    // The "hostname" is an address literal: clients match it against IP names only.
    ERR_clear_error();
    absl::Status status = AddGeneralName(names.get(), GEN_IPADD, literal.get());
    if (!status.ok()) return status;
    literal.release();
  } else {
    ERR_clear_error();  // a2i_IPADDRESS failing is the normal case for a DNS name
    Asn1Ia5StringPtr dns(ASN1_IA5STRING_new());
    if (dns == nullptr ||
        ASN1_STRING_set(dns.get(), hostname.data(), static_cast<int>(hostname.size())) == 0) {
      return OpenSslInternal("ASN1_STRING_set");
    }
    absl::Status status = AddGeneralName(names.get(), GEN_DNS, dns.get());
    if (!status.ok()) return status;
    dns.release();
    if (IsLocalhostName(hostname)) {
      if (absl::Status s = AddIpName(names.get(), "127.0.0.1"); !s.ok()) return s;
      if (absl::Status s = AddIpName(names.get(), "::1"); !s.ok()) return s;
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), /*crit=*/0, X509V3_ADD_DEFAULT) !=
      1) {
    return OpenSslInternal("X509_add1_ext_i2d subjectAltName");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslInternal(absl::StrCat("X509 extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

struct KeyAndCertificate {
  PkeyPtr key;
  X509Ptr cert;
};

absl::StatusOr<KeyAndCertificate> GenerateSelfSigned(const std::string& hostname) {
  KeyAndCertificate out;
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (out.key == nullptr) return OpenSslInternal("EC P-256 key generation");

  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1) {
    return OpenSslInternal("X509_new");
  }

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 128 random bits with the top
  // bit cleared keeps it positive in DER without a leading zero octet.
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return OpenSslInternal("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BignumPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslInternal("certificate serial");
  }

  // Valid from an hour ago, so that a client whose clock is a little behind accepts it.
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -kOneHour) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), kOneYear) == nullptr) {
    return OpenSslInternal("certificate validity");
  }
  if (X509_set_pubkey(cert, out.key.get()) != 1) return OpenSslInternal("X509_set_pubkey");

  // The CN is limited to 64 characters (RFC 5280 ub-common-name); a longer hostname is named
  // by the subjectAltName alone, which is what clients match anyway (RFC 6125).
  X509_NAME* name = X509_get_subject_name(cert);
  if (hostname.size() <= 64 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(hostname.data()),
                                 static_cast<int>(hostname.size()), -1, 0) != 1) {
    return OpenSslInternal("certificate subject");
  }
  if (X509_set_issuer_name(cert, name) != 1) return OpenSslInternal("certificate issuer");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (absl::Status status = AddExtension(cert, &ctx, nid, value); !status.ok()) return status;
  }
  if (absl::Status status = AddSubjectAltName(cert, hostname); !status.ok()) return status;

  if (X509_sign(cert, out.key.get(), EVP_sha256()) == 0) return OpenSslInternal("X509_sign");
  return out;
}

std::string FingerprintSha256(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) {
    ERR_clear_error();
    return "";
  }
  std::string out;
  out.reserve(length * 3);
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) out.push_back(':');
    absl::StrAppendFormat(&out, "%02X", digest[i]);
  }
  return out;
}

struct BuiltContext {
  std::shared_ptr<asio::ssl::context> context;
  std::string fingerprint;
};

// Builds a server SSL_CTX around `cert` and `key` (which must match) and wraps it for Asio.
// Only OpenSSL calls are used so that nothing throws; asio::ssl::context's own setters
// throw asio::system_error.
absl::StatusOr<BuiltContext> BuildContext(int min_version, X509* cert, EVP_PKEY* key,
                                          std::vector<X509Ptr> intermediates) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) return OpenSslInternal("SSL_CTX_new");

  // No compression (CRIME), no renegotiation (a client-driven CPU sink and a source of
  // state confusion), and a client that closes without close_notify after QUIT is a
  // normal end of stream rather than an error.
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Idle SMTP sessions are common and long (a client between messages): give the read and
  // write buffers back while a connection waits.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version(ctx.get(), min_version) != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1 ||
      SSL_CTX_set_session_id_context(ctx.get(), kSessionIdContext, sizeof(kSessionIdContext) - 1) !=
          1) {
    return OpenSslInternal("TLS context settings");
  }

  if (SSL_CTX_use_certificate(ctx.get(), cert) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate cannot be used: ", OpenSslErrors()));
  }
  for (X509Ptr& intermediate : intermediates) {
    if (SSL_CTX_add0_chain_cert(ctx.get(), intermediate.get()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("a chain certificate cannot be used: ", OpenSslErrors()));
    }
    intermediate.release();  // owned by the context now
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key cannot be used: ", OpenSslErrors()));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("the private key does not match the certificate: ", OpenSslErrors()));
  }

  BuiltContext built;
  built.fingerprint = FingerprintSha256(cert);
  // Non-null, so this constructor cannot throw; the context takes ownership of the SSL_CTX.
  built.context = std::make_shared<asio::ssl::context>(ctx.release());
  return built;
}

absl::StatusOr<BuiltContext> BuildFromFiles(const TlsOptions& options, int min_version) {
  absl::StatusOr<CertificateChain> chain = ReadCertificateChain(options.cert_file);
  if (!chain.ok()) return chain.status();
  // Without key_file the key is expected next to the certificates in cert_file.
  const bool combined = options.key_file.empty();
  absl::string_view key_option = combined ? kCertOption : kKeyOption;
  const std::string& key_path = combined ? options.cert_file : options.key_file;
  absl::StatusOr<PkeyPtr> key = ReadPrivateKey(key_option, key_path);
  if (!key.ok()) return key.status();

  // Checked here, before building, for an error that names both files.
  if (X509_check_private_key(chain->leaf.get(), key->get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(absl::StrCat(
        key_option, " ", key_path, ": the private key does not match the certificate in ",
        kCertOption, " ", options.cert_file));
  }
  absl::StatusOr<BuiltContext> built =
      BuildContext(min_version, chain->leaf.get(), key->get(), std::move(chain->intermediates));
  if (!built.ok()) {
    return absl::Status(built.status().code(), absl::StrCat(kCertOption, " ", options.cert_file,
                                                            ": ", built.status().message()));
  }
  return built;
}

absl::StatusOr<int> ParseMinVersion(absl::string_view text) {
  if (text == "TLSv1.2") return TLS1_2_VERSION;
  if (text == "TLSv1.3") return TLS1_3_VERSION;
  return absl::InvalidArgumentError(
      absl::StrCat("smtp.tls.min_version \"", text, "\": expected \"TLSv1.2\" or \"TLSv1.3\""));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsContextProvider>> TlsContextProvider::Create(
    const TlsOptions& options) {
  absl::StatusOr<int> min_version = ParseMinVersion(options.min_version);
  if (!min_version.ok()) return min_version.status();
  if (options.cert_file.empty() && !options.key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kKeyOption, " ", options.key_file, " is set without ", kCertOption));
  }

  absl::StatusOr<BuiltContext> built;
  if (options.cert_file.empty()) {
    const std::string hostname = options.hostname.empty() ? "localhost" : options.hostname;
    absl::StatusOr<KeyAndCertificate> generated = GenerateSelfSigned(hostname);
    if (!generated.ok()) return generated.status();
    built = BuildContext(*min_version, generated->cert.get(), generated->key.get(), {});
  } else {
    built = BuildFromFiles(options, *min_version);
  }
  if (!built.ok()) return built.status();
  return std::unique_ptr<TlsContextProvider>(new TlsContextProvider(
      options, *min_version, std::move(built->context), std::move(built->fingerprint)));
}

TlsContextProvider::TlsContextProvider(const TlsOptions& options, int min_version,
                                       std::shared_ptr<asio::ssl::context> context,
                                       std::string fingerprint)
    : options_(options),
      min_version_(min_version),
      context_(std::move(context)),
      fingerprint_(std::move(fingerprint)) {}

TlsContextProvider::~TlsContextProvider() = default;

std::shared_ptr<asio::ssl::context> TlsContextProvider::current() const {
  absl::MutexLock lock(&mu_);
  return context_;
}

absl::Status TlsContextProvider::Reload() {
  if (self_signed()) return absl::OkStatus();
  // Built outside the lock: reading files and building a context must not stall the
  // connections asking for current().
  absl::StatusOr<BuiltContext> built = BuildFromFiles(options_, min_version_);
  if (!built.ok()) return built.status();
  std::shared_ptr<asio::ssl::context> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::exchange(context_, std::move(built->context));
    fingerprint_ = std::move(built->fingerprint);
  }
  // `old` is released here, outside the lock; streams still using it keep it alive.
  return absl::OkStatus();
}

std::string TlsContextProvider::fingerprint_sha256() const {
  absl::MutexLock lock(&mu_);
  return fingerprint_;
}

bool TlsContextProvider::self_signed() const { return options_.cert_file.empty(); }

TlsFacts DescribeTls(const SSL* ssl) {
  TlsFacts facts;
  if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) return facts;
  facts.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl); cipher != nullptr) {
    facts.cipher = SSL_CIPHER_get_name(cipher);
  }
  return facts;
}

}  // namespace mailroom::smtp
