// The local CA and leaf of --tls-self-signed, and loading --tls-cert /
// --tls-key: names in the SAN, the CA verifies the leaf, reuse on a second
// start, 0600 keys, clear errors naming the flag.
#include "sandbox/tls/tls_files.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vkspay::sandbox {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vkspay-tls-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_; }
  std::string Sub(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

X509* ReadCert(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) return nullptr;
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return x;
}

// X509_verify_cert of `leaf_pem` against `ca_pem` alone, for TLS servers,
// at `when`; "" when it verifies, else OpenSSL's reason.
std::string Verify(const std::string& ca_pem, const std::string& leaf_pem, const std::string& host,
                   time_t when) {
  X509* ca = ReadCert(ca_pem);
  X509* leaf = ReadCert(leaf_pem);
  if (ca == nullptr || leaf == nullptr) {
    X509_free(ca);
    X509_free(leaf);
    return "unreadable";
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(param, when);
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  std::string out;
  if (X509_verify_cert(ctx) != 1) {
    out = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
  return out;
}

const int64_t kNow = 1'800'000'000;  // 2027-01-15

TEST(SelfSigned, LeafNamesTheHostsAndLoopbackInItsSan) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {kVksPayApiHost, "pay.example.test"}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::vector<std::string> san = SubjectAltNamesOf(f->cert);
  std::sort(san.begin(), san.end());
  EXPECT_EQ(san, (std::vector<std::string>{"DNS:pay.example.test", "DNS:vk-spay-openapi.fsq.pub",
                                           "IP:127.0.0.1"}));
  EXPECT_TRUE(f->ca_created);
  EXPECT_TRUE(f->leaf_created);
}

TEST(SelfSigned, CaVerifiesTheLeafForTheNameAndNotForAnother) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(Verify(f->ca_cert, f->cert, kVksPayApiHost, kNow), "");
  EXPECT_EQ(Verify(f->ca_cert, f->cert, "", kNow + 800LL * 86400), "");
  EXPECT_EQ(Verify(f->ca_cert, f->cert, "example.com", kNow), "hostname mismatch");
  EXPECT_EQ(Verify(f->ca_cert, f->cert, "", kNow + 830LL * 86400), "certificate has expired");
  // The CA is a CA, the leaf is not.
  X509* ca = ReadCert(f->ca_cert);
  X509* leaf = ReadCert(f->cert);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(X509_check_ca(ca), 1);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
  X509_free(ca);
  X509_free(leaf);
}

TEST(SelfSigned, KeysAre0600AndCertificates0644) {
  TempDir dir;
  const std::string sub = dir.Sub("state/tls");
  const mode_t old = ::umask(0);  // a permissive umask must not widen the keys
  auto f = EnsureSelfSigned(sub, {kVksPayApiHost}, kNow);
  ::umask(old);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(ModeOf(f->ca_key), 0600u);
  EXPECT_EQ(ModeOf(f->key), 0600u);
  EXPECT_EQ(ModeOf(f->ca_cert), 0644u);
  EXPECT_EQ(ModeOf(f->cert), 0644u);
  EXPECT_EQ(ModeOf(sub), 0700u);
  // No temporary files left behind.
  int files = 0;
  for (const auto& e : fs::directory_iterator(sub)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 4);
}

TEST(SelfSigned, SecondStartReusesCaAndLeaf) {
  TempDir dir;
  auto first = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(first.ok());
  const std::string ca = ReadAll(first->ca_cert), leaf = ReadAll(first->cert);
  auto second = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow + 86400);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->ca_created);
  EXPECT_FALSE(second->leaf_created);
  EXPECT_EQ(ReadAll(second->ca_cert), ca);
  EXPECT_EQ(ReadAll(second->cert), leaf);
}

TEST(SelfSigned, NewNamesIssueANewLeafUnderTheSameCa) {
  TempDir dir;
  auto first = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(first.ok());
  const std::string ca = ReadAll(first->ca_cert), leaf = ReadAll(first->cert);
  auto second = EnsureSelfSigned(dir.path(), {kVksPayApiHost, "localhost"}, kNow);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(second->ca_created);
  EXPECT_TRUE(second->leaf_created);
  EXPECT_EQ(second->leaf_reason, "the host names changed");
  EXPECT_EQ(ReadAll(second->ca_cert), ca);
  EXPECT_NE(ReadAll(second->cert), leaf);
  EXPECT_EQ(Verify(second->ca_cert, second->cert, "localhost", kNow), "");
}

TEST(SelfSigned, ALeafAboutToExpireIsIssuedAgain) {
  TempDir dir;
  ASSERT_TRUE(EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow).ok());
  auto later = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow + 825LL * 86400);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_FALSE(later->ca_created);
  EXPECT_TRUE(later->leaf_created);
  EXPECT_EQ(later->leaf_reason, "the server certificate expires within a day");
  EXPECT_EQ(Verify(later->ca_cert, later->cert, kVksPayApiHost, kNow + 826LL * 86400), "");
}

TEST(SelfSigned, ARemovedCaMakesANewCaAndANewLeaf) {
  TempDir dir;
  auto first = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(first.ok());
  fs::remove(first->ca_cert);
  fs::remove(first->ca_key);
  auto second = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->ca_created);
  EXPECT_EQ(second->leaf_reason, "the server certificate is not signed by this CA");
  EXPECT_EQ(Verify(second->ca_cert, second->cert, kVksPayApiHost, kNow), "");
}

TEST(SelfSigned, ACorruptCaIsAnErrorNotSilentlyReplaced) {
  TempDir dir;
  auto first = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(first.ok());
  WriteAll(first->ca_key, "not a key\n");
  auto second = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kInternal);
  EXPECT_NE(second.status().message().find("remove both to make a new CA"), std::string::npos)
      << second.status().message();
}

TEST(SelfSigned, BadNamesAreRefusedNamingTheFlag) {
  TempDir dir;
  for (const std::string& bad :
       {std::string("a,DNS:evil.com"), std::string("-bad.example"), std::string("two..dots"),
        std::string("sp ace"), std::string("")}) {
    auto f = EnsureSelfSigned(dir.path(), {bad}, kNow);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), ErrorCode::kInvalidField);
    EXPECT_EQ(f.status().message().rfind("--tls-self-signed: \"" + bad + "\"", 0), 0u)
        << f.status().message();
  }
  EXPECT_FALSE(fs::exists(dir.Sub("ca-key.pem"))) << "a refused name wrote nothing";
  EXPECT_TRUE(CheckTlsName("*.example.com").ok());
  EXPECT_TRUE(CheckTlsName("::1").ok());
}

TEST(SelfSigned, AnIpNameGoesInTheSanAsAnAddress) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {"192.168.1.20"}, kNow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::vector<std::string> san = SubjectAltNamesOf(f->cert);
  std::sort(san.begin(), san.end());
  EXPECT_EQ(san, (std::vector<std::string>{"IP:127.0.0.1", "IP:192.168.1.20"}));
}

TEST(LoadServerTls, LoadsTheGeneratedPairAndServesItsDnsNames) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(f.ok());
  auto ctx = LoadServerTls(f->cert, f->key);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ(ServedDnsNames(ctx->get()), std::vector<std::string>{kVksPayApiHost});
}

TEST(LoadServerTls, MissingFilesNameTheFlagAndTheFile) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(f.ok());
  auto no_cert = LoadServerTls(dir.Sub("nope.pem"), f->key);
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.status().message(),
            "--tls-cert " + dir.Sub("nope.pem") + ": No such file or directory");
  auto no_key = LoadServerTls(f->cert, dir.Sub("nokey.pem"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().message(),
            "--tls-key " + dir.Sub("nokey.pem") + ": No such file or directory");
}

TEST(LoadServerTls, GarbageAndMismatchedFilesNameTheFlag) {
  TempDir dir;
  auto f = EnsureSelfSigned(dir.path(), {kVksPayApiHost}, kNow);
  ASSERT_TRUE(f.ok());
  WriteAll(dir.Sub("garbage.pem"), "hello\n");
  auto bad_cert = LoadServerTls(dir.Sub("garbage.pem"), f->key);
  ASSERT_FALSE(bad_cert.ok());
  EXPECT_EQ(bad_cert.status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(bad_cert.status().message().rfind(
                "--tls-cert " + dir.Sub("garbage.pem") + ": not a PEM certificate", 0),
            0u)
      << bad_cert.status().message();
  auto bad_key = LoadServerTls(f->cert, dir.Sub("garbage.pem"));
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.status().message().rfind(
                "--tls-key " + dir.Sub("garbage.pem") + ": not a PEM private key", 0),
            0u)
      << bad_key.status().message();
  // The CA's key with the leaf's certificate.
  auto mismatch = LoadServerTls(f->cert, f->ca_key);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().message(), "--tls-key " + f->ca_key +
                                             " is not the private key of the certificate in "
                                             "--tls-cert " +
                                             f->cert);
}

}  // namespace
}  // namespace vkspay::sandbox
