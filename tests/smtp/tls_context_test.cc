// Tests of smtp/tls_context.h: real TLS handshakes over loopback sockets between a server
// stream on the provider's context and an asio client, certificates made by the openssl CLI.

#include "smtp/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command.h"
#include "tests/support/files.h"
#include "tests/support/status_matchers.h"

namespace mailroom::smtp {
namespace {

using ::mailroom::testing::ReadFile;
using ::mailroom::testing::RunCommand;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOpenSsl[] = "/usr/bin/openssl";

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// TlsOptions field by field (designated initializers that skip fields warn under -Wextra).
TlsOptions Options(std::string cert_file, std::string key_file, std::string hostname,
                   std::string min_version = "TLSv1.2") {
  TlsOptions options;
  options.cert_file = std::move(cert_file);
  options.key_file = std::move(key_file);
  options.hostname = std::move(hostname);
  options.min_version = std::move(min_version);
  return options;
}

// What each side saw of one handshake.
struct HandshakeResult {
  asio::error_code server_error;
  asio::error_code client_error;
  TlsFacts server_facts;     // DescribeTls on the server's stream
  int client_version = 0;    // SSL_version on the client's stream
  X509Ptr peer_certificate;  // the server certificate the client received
  int peer_chain_length = 0;
};

// Runs one handshake between a server stream on `server_context` and a client stream on
// `client_context` over a loopback TCP connection (port 0). Blocking calls on two threads:
// when either side fails it closes its socket, which ends the other side's handshake too.
HandshakeResult Handshake(asio::ssl::context& server_context, asio::ssl::context& client_context,
                          const std::string& sni = "") {
  HandshakeResult result;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io,
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread server([&] {
    asio::ip::tcp::socket socket(io);
    acceptor.accept(socket, result.server_error);
    if (result.server_error) return;
    asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), server_context);
    stream.handshake(asio::ssl::stream_base::server, result.server_error);
    if (!result.server_error) result.server_facts = DescribeTls(stream.native_handle());
  });
  {
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, client_context);
    if (!sni.empty()) SSL_set_tlsext_host_name(stream.native_handle(), sni.c_str());
    stream.lowest_layer().connect(acceptor.local_endpoint(), result.client_error);
    if (!result.client_error) stream.handshake(asio::ssl::stream_base::client, result.client_error);
    if (!result.client_error) {
      result.client_version = SSL_version(stream.native_handle());
      result.peer_certificate.reset(SSL_get1_peer_certificate(stream.native_handle()));
      if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(stream.native_handle())) {
        result.peer_chain_length = sk_X509_num(chain);
      }
    }
  }
  server.join();
  ERR_clear_error();
  return result;
}

// A client that trusts exactly `trusted` (PEM or the provider's own certificate) and checks
// the server's name against `hostname` (RFC 6125, through the subjectAltName).
asio::ssl::context VerifyingClient(X509* trusted, const std::string& hostname) {
  asio::ssl::context client(asio::ssl::context::tls_client);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client.native_handle()), trusted);
  client.set_verify_mode(asio::ssl::verify_peer);
  client.set_verify_callback(asio::ssl::host_name_verification(hostname));
  return client;
}

asio::ssl::context NonVerifyingClient() {
  asio::ssl::context client(asio::ssl::context::tls_client);
  client.set_verify_mode(asio::ssl::verify_none);
  return client;
}

X509* CertificateOf(TlsContextProvider& provider) {
  return SSL_CTX_get0_certificate(provider.current()->native_handle());
}

std::string CommonName(X509* cert) {
  char buffer[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buffer, sizeof(buffer));
  return buffer;
}

// The DNS names and IP addresses (as text) in the certificate's subjectAltName.
std::vector<std::string> AltNames(X509* cert) {
  std::vector<std::string> names;
  auto* general_names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (general_names == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(general_names); ++i) {
    GENERAL_NAME* name = sk_GENERAL_NAME_value(general_names, i);
    if (name->type == GEN_DNS) {
      names.push_back(absl::StrCat(
          "DNS:", reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName))));
    } else if (name->type == GEN_IPADD) {
      const int length = ASN1_STRING_length(name->d.iPAddress);
      char text[INET6_ADDRSTRLEN] = {};
      inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(name->d.iPAddress), text,
                sizeof(text));
      names.push_back(absl::StrCat("IP:", text));
    }
  }
  GENERAL_NAMES_free(general_names);
  return names;
}

// A scratch directory for PEM files, removed at the end of the test.
class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tlsctx.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(absl::string_view name) const { return (dir_ / std::string(name)).string(); }

  // A self-signed P-256 certificate for `cn` made by the openssl CLI.
  void MakeCertificate(const std::string& cert, const std::string& key, const std::string& cn) {
    ASSERT_OK(
        RunCommand({kOpenSsl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:" + cn}));
  }

  // The fingerprint `openssl x509 -fingerprint -sha256` prints ("AB:CD:...").
  std::string CliFingerprint(const std::string& cert) {
    absl::StatusOr<std::string> out =
        RunCommand({kOpenSsl, "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"});
    EXPECT_OK(out);
    if (!out.ok()) return "";
    std::string text(absl::StripAsciiWhitespace(*out));
    return text.substr(text.find('=') + 1);
  }

  void WriteFile(const std::string& path, absl::string_view contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << contents;
  }

  X509Ptr LoadCertificate(const std::string& path) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(path.c_str(), "r"), fclose);
    if (file == nullptr) return nullptr;
    return X509Ptr(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
  }

  std::filesystem::path dir_;
};

TEST(TlsContextProviderTest, SelfSignedCertificateNamesTheHostAndHandshakes) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(provider);
  EXPECT_TRUE((*provider)->self_signed());

  // The client trusts the generated certificate and checks the name through the SAN.
  asio::ssl::context client = VerifyingClient(CertificateOf(**provider), "mail.example.test");
  HandshakeResult result = Handshake(*(*provider)->current(), client, "mail.example.test");
  ASSERT_FALSE(result.client_error) << result.client_error.message();
  ASSERT_FALSE(result.server_error) << result.server_error.message();
  ASSERT_NE(result.peer_certificate, nullptr);
  EXPECT_EQ(CommonName(result.peer_certificate.get()), "mail.example.test");
  EXPECT_THAT(AltNames(result.peer_certificate.get()),
              ::testing::ElementsAre("DNS:mail.example.test"));
  EXPECT_GE(result.client_version, TLS1_2_VERSION);
  EXPECT_EQ(result.server_facts.protocol, "TLSv1.3");
  EXPECT_FALSE(result.server_facts.cipher.empty());
}

TEST(TlsContextProviderTest, SelfSignedCertificateIsALeafForServers) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(provider);
  X509* cert = CertificateOf(**provider);
  ASSERT_NE(cert, nullptr);

  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_get_extension_flags(cert) & EXFLAG_CA, 0u);
  EXPECT_NE(X509_get_extended_key_usage(cert) & XKU_SSL_SERVER, 0u);
  EXPECT_NE(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  EXPECT_EQ(EVP_PKEY_get_id(X509_get0_pubkey(cert)), EVP_PKEY_EC);

  // Serial: positive and 128 bits wide at most (random, so rarely exactly 127).
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  EXPECT_NE(serial->type & V_ASN1_NEG, V_ASN1_NEG);
  EXPECT_LE(serial->length, 16);
  EXPECT_GE(serial->length, 8);

  // Valid now, started in the past, ends in about a year.
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)),
            1);
  EXPECT_EQ(days, 365);

  // Two providers never share a certificate (fresh key and serial).
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> other =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(other);
  EXPECT_NE((*provider)->fingerprint_sha256(), (*other)->fingerprint_sha256());
}

TEST(TlsContextProviderTest, LocalhostCertificateAlsoNamesLoopbackAddresses) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "localhost"));
  ASSERT_OK(provider);
  EXPECT_THAT(AltNames(CertificateOf(**provider)),
              ::testing::ElementsAre("DNS:localhost", "IP:127.0.0.1", "IP:::1"));

  // A client that connects by address can verify it.
  asio::ssl::context client(asio::ssl::context::tls_client);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(client.native_handle()), CertificateOf(**provider));
  client.set_verify_mode(asio::ssl::verify_peer);
  client.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  HandshakeResult result = Handshake(*(*provider)->current(), client);
  EXPECT_FALSE(result.client_error) << result.client_error.message();
}

TEST(TlsContextProviderTest, HostnameThatIsAnAddressIsAnIpName) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "192.0.2.7"));
  ASSERT_OK(provider);
  EXPECT_THAT(AltNames(CertificateOf(**provider)), ::testing::ElementsAre("IP:192.0.2.7"));
}

TEST(TlsContextProviderTest, HostnameCannotInjectAltNames) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "a.test,DNS:evil.test"));
  ASSERT_OK(provider);
  EXPECT_THAT(AltNames(CertificateOf(**provider)),
              ::testing::ElementsAre("DNS:a.test,DNS:evil.test"));
}

TEST(TlsContextProviderTest, RefusesTls11Client) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(provider);
  asio::ssl::context client = NonVerifyingClient();
  SSL_CTX_set_min_proto_version(client.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(client.native_handle(), TLS1_1_VERSION);
  // Security level 0 so that the client itself is willing to offer TLS 1.1.
  SSL_CTX_set_cipher_list(client.native_handle(), "DEFAULT:@SECLEVEL=0");

  HandshakeResult result = Handshake(*(*provider)->current(), client);
  EXPECT_TRUE(result.client_error);
  EXPECT_TRUE(result.server_error);
  EXPECT_THAT(result.server_error.message(), HasSubstr("unsupported protocol"));
}

TEST(TlsContextProviderTest, MinVersionTls13RefusesTls12Client) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test", "TLSv1.3"));
  ASSERT_OK(provider);

  asio::ssl::context tls12 = NonVerifyingClient();
  SSL_CTX_set_max_proto_version(tls12.native_handle(), TLS1_2_VERSION);
  HandshakeResult refused = Handshake(*(*provider)->current(), tls12);
  EXPECT_TRUE(refused.client_error);
  EXPECT_TRUE(refused.server_error);

  asio::ssl::context tls13 = NonVerifyingClient();
  HandshakeResult accepted = Handshake(*(*provider)->current(), tls13);
  EXPECT_FALSE(accepted.client_error) << accepted.client_error.message();
  EXPECT_EQ(accepted.client_version, TLS1_3_VERSION);
}

TEST(TlsContextProviderTest, Tls12UsesForwardSecretAeadCipher) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(provider);
  asio::ssl::context client = NonVerifyingClient();
  SSL_CTX_set_max_proto_version(client.native_handle(), TLS1_2_VERSION);
  HandshakeResult result = Handshake(*(*provider)->current(), client);
  ASSERT_FALSE(result.server_error) << result.server_error.message();
  EXPECT_EQ(result.server_facts.protocol, "TLSv1.2");
  EXPECT_THAT(result.server_facts.cipher, StartsWith("ECDHE-ECDSA-"));

  // A client offering only CBC suites without forward secrecy finds nothing in common.
  asio::ssl::context weak = NonVerifyingClient();
  SSL_CTX_set_max_proto_version(weak.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(weak.native_handle(), "AES128-SHA:AES256-SHA");
  HandshakeResult refused = Handshake(*(*provider)->current(), weak);
  EXPECT_TRUE(refused.server_error);
}

TEST(TlsContextProviderTest, RejectsBadOptions) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> bad_version =
      TlsContextProvider::Create(Options("", "", "h", "TLSv1.1"));
  EXPECT_EQ(bad_version.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_version.status().message(), HasSubstr("smtp.tls.min_version"));

  absl::StatusOr<std::unique_ptr<TlsContextProvider>> key_only =
      TlsContextProvider::Create(Options("", "/x/key.pem", "h"));
  EXPECT_EQ(key_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key_only.status().message(), HasSubstr("smtp.tls.key_file /x/key.pem"));
}

TEST(TlsContextProviderTest, DescribeTlsOfNothingIsEmpty) {
  TlsFacts facts = DescribeTls(nullptr);
  EXPECT_EQ(facts.protocol, "");
  EXPECT_EQ(facts.cipher, "");
}

TEST_F(TlsFilesTest, LoadsPemFilesAndReportsTheirFingerprint) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(cert, key, "ignored"));
  ASSERT_OK(provider);
  EXPECT_FALSE((*provider)->self_signed());
  EXPECT_EQ((*provider)->fingerprint_sha256(), CliFingerprint(cert));
  EXPECT_EQ((*provider)->fingerprint_sha256().size(), 32u * 3 - 1);

  X509Ptr trusted = LoadCertificate(cert);
  ASSERT_NE(trusted, nullptr);
  asio::ssl::context client = VerifyingClient(trusted.get(), "pem.example.test");
  HandshakeResult result = Handshake(*(*provider)->current(), client);
  ASSERT_FALSE(result.client_error) << result.client_error.message();
  EXPECT_EQ(X509_cmp(result.peer_certificate.get(), trusted.get()), 0);
}

TEST_F(TlsFilesTest, LoadsKeyFromCombinedCertificateFile) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  WriteFile(Path("combined.pem"), ReadFile(cert) + ReadFile(key));
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(Path("combined.pem"), "", ""));
  ASSERT_OK(provider);
  EXPECT_EQ((*provider)->fingerprint_sha256(), CliFingerprint(cert));
}

TEST_F(TlsFilesTest, SendsIntermediateCertificates) {
  // A CA, a server certificate it signs, and a chain file holding both.
  ASSERT_OK(RunCommand({kOpenSsl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", Path("ca.key"), "-out",
                        Path("ca.pem"), "-days", "2", "-subj", "/CN=Test CA"}));
  ASSERT_OK(RunCommand({kOpenSsl, "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", Path("leaf.key"), "-out",
                        Path("leaf.csr"), "-subj", "/CN=chain.example.test"}));
  WriteFile(Path("ext.cnf"), "subjectAltName=DNS:chain.example.test\n");
  ASSERT_OK(RunCommand({kOpenSsl, "x509", "-req", "-in", Path("leaf.csr"), "-CA", Path("ca.pem"),
                        "-CAkey", Path("ca.key"), "-CAcreateserial", "-out", Path("leaf.pem"),
                        "-days", "2", "-extfile", Path("ext.cnf")}));
  WriteFile(Path("chain.pem"), ReadFile(Path("leaf.pem")) + ReadFile(Path("ca.pem")));

  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(Path("chain.pem"), Path("leaf.key"), ""));
  ASSERT_OK(provider);
  EXPECT_EQ((*provider)->fingerprint_sha256(), CliFingerprint(Path("leaf.pem")));

  X509Ptr ca = LoadCertificate(Path("ca.pem"));
  ASSERT_NE(ca, nullptr);
  asio::ssl::context client = VerifyingClient(ca.get(), "chain.example.test");
  HandshakeResult result = Handshake(*(*provider)->current(), client);
  ASSERT_FALSE(result.client_error) << result.client_error.message();
  EXPECT_EQ(result.peer_chain_length, 2);
}

TEST_F(TlsFilesTest, MissingFileNamesOptionFileAndReason) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(Path("absent.pem"), Path("k.pem"), ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(), HasSubstr("smtp.tls.cert_file " + Path("absent.pem")));
  EXPECT_THAT(provider.status().message(), HasSubstr("No such file or directory"));

  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  provider = TlsContextProvider::Create(Options(cert, Path("absent.key"), ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(), HasSubstr("smtp.tls.key_file " + Path("absent.key")));
}

TEST_F(TlsFilesTest, GarbageFilesAreRefusedWithOpenSslReason) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  WriteFile(Path("garbage.pem"), "this is not PEM\n");

  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(Path("garbage.pem"), key, ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(),
              HasSubstr("smtp.tls.cert_file " + Path("garbage.pem") + ": no certificate found"));
  EXPECT_THAT(provider.status().message(), HasSubstr("no start line"));

  provider = TlsContextProvider::Create(Options(cert, Path("garbage.pem"), ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(),
              HasSubstr("smtp.tls.key_file " + Path("garbage.pem") + ": no usable private key"));

  // A certificate whose base64 body is damaged.
  std::string damaged = ReadFile(cert);
  damaged[damaged.find('\n') + 10] = '!';
  WriteFile(Path("damaged.pem"), damaged);
  provider = TlsContextProvider::Create(Options(Path("damaged.pem"), key, ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(), HasSubstr(Path("damaged.pem")));

  // The error queue is left clean for the next OpenSSL user on this thread.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(TlsFilesTest, EncryptedKeyIsRefusedWithoutPrompting) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  ASSERT_OK(RunCommand({kOpenSsl, "pkey", "-in", key, "-out", Path("encrypted.key"), "-aes256",
                        "-passout", "pass:secret"}));
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(cert, Path("encrypted.key"), ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(provider.status().message(), HasSubstr("smtp.tls.key_file"));
}

TEST_F(TlsFilesTest, MismatchedKeyIsAClearError) {
  MakeCertificate(Path("a.pem"), Path("a.key"), "a.example.test");
  MakeCertificate(Path("b.pem"), Path("b.key"), "b.example.test");
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(Path("a.pem"), Path("b.key"), ""));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(provider.status().message(), HasSubstr("does not match the certificate"));
  EXPECT_THAT(provider.status().message(), HasSubstr(Path("b.key")));
  EXPECT_THAT(provider.status().message(), HasSubstr(Path("a.pem")));
}

TEST_F(TlsFilesTest, ReloadPicksUpReplacedCertificateAndKeepsOldOnError) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "old.example.test");
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> created =
      TlsContextProvider::Create(Options(cert, key, ""));
  ASSERT_OK(created);
  TlsContextProvider& provider = **created;
  const std::string old_fingerprint = provider.fingerprint_sha256();
  std::shared_ptr<asio::ssl::context> old_context = provider.current();

  // Renewal: both files replaced.
  MakeCertificate(cert, key, "new.example.test");
  ASSERT_OK(provider.Reload());
  EXPECT_EQ(provider.fingerprint_sha256(), CliFingerprint(cert));
  EXPECT_NE(provider.fingerprint_sha256(), old_fingerprint);
  EXPECT_NE(provider.current(), old_context);
  {
    asio::ssl::context client = NonVerifyingClient();
    HandshakeResult result = Handshake(*provider.current(), client);
    ASSERT_FALSE(result.client_error) << result.client_error.message();
    EXPECT_EQ(CommonName(result.peer_certificate.get()), "new.example.test");
  }
  // A connection that started before the reload keeps a working context.
  {
    asio::ssl::context client = NonVerifyingClient();
    HandshakeResult result = Handshake(*old_context, client);
    ASSERT_FALSE(result.client_error) << result.client_error.message();
    EXPECT_EQ(CommonName(result.peer_certificate.get()), "old.example.test");
  }

  // A broken certificate file: the reload fails and the current context stays.
  const std::string good_fingerprint = provider.fingerprint_sha256();
  std::shared_ptr<asio::ssl::context> good_context = provider.current();
  WriteFile(cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(provider.Reload().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(provider.fingerprint_sha256(), good_fingerprint);
  EXPECT_EQ(provider.current(), good_context);

  // Half a renewal (new certificate, old key): refused the same way.
  MakeCertificate(cert, Path("other.key"), "newer.example.test");
  EXPECT_EQ(provider.Reload().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(provider.current(), good_context);
}

TEST(TlsContextProviderTest, ReloadOfSelfSignedIsANoOp) {
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options("", "", "mail.example.test"));
  ASSERT_OK(provider);
  const std::string fingerprint = (*provider)->fingerprint_sha256();
  std::shared_ptr<asio::ssl::context> context = (*provider)->current();
  EXPECT_OK((*provider)->Reload());
  EXPECT_EQ((*provider)->fingerprint_sha256(), fingerprint);
  EXPECT_EQ((*provider)->current(), context);
}

TEST_F(TlsFilesTest, ConcurrentReadersDuringReload) {
  const std::string cert = Path("cert.pem"), key = Path("key.pem");
  MakeCertificate(cert, key, "pem.example.test");
  absl::StatusOr<std::unique_ptr<TlsContextProvider>> provider =
      TlsContextProvider::Create(Options(cert, key, ""));
  ASSERT_OK(provider);
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      for (int j = 0; j < 200; ++j) {
        std::shared_ptr<asio::ssl::context> context = (*provider)->current();
        ASSERT_NE(context, nullptr);
        ASSERT_NE(SSL_CTX_get0_certificate(context->native_handle()), nullptr);
        ASSERT_EQ((*provider)->fingerprint_sha256().size(), 95u);
      }
    });
  }
  for (int i = 0; i < 10; ++i) EXPECT_OK((*provider)->Reload());
  for (std::thread& reader : readers) reader.join();
}

}  // namespace
}  // namespace mailroom::smtp
