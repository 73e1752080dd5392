#include "sandbox/tls/tls_files.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vkspay::sandbox {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

constexpr int kCaDays = 3650;
constexpr int kLeafDays = 825;
constexpr int64_t kRenewBefore = 24 * 3600;  // a leaf expiring within a day is issued again

// OpenSSL's last error, for a message; clears the queue.
std::string OpenSslError() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      out += " (" + std::string(data) + ")";
    }
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// "" if the file can be opened for reading, else errno's text.
std::string Unreadable(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return "";
}

bool IsIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

X509Ptr ReadCert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr ReadKey(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<std::string> SanEntries(X509* x) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const ASN1_IA5STRING* s = n->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = n->d.iPAddress;
      char buf[INET6_ADDRSTRLEN] = "";
      const int len = ASN1_STRING_length(s);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;
      if (family > 0 && ::inet_ntop(family, ASN1_STRING_get0_data(s), buf, sizeof buf)) {
        out.push_back(std::string("IP:") + buf);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The SAN entries a leaf for `names` carries, sorted: each name as DNS: or
// IP:, and IP:127.0.0.1.
std::vector<std::string> WantedSan(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    std::string entry = IsIpLiteral(n) ? "IP:" + n : "DNS:" + n;
    if (IsIpLiteral(n)) {
      // The canonical spelling, as SanEntries prints it back.
      unsigned char buf[16];
      char text[INET6_ADDRSTRLEN] = "";
      const int family = n.find(':') != std::string::npos ? AF_INET6 : AF_INET;
      if (::inet_pton(family, n.c_str(), buf) == 1 && ::inet_ntop(family, buf, text, sizeof text)) {
        entry = std::string("IP:") + text;
      }
    } else {
      // DNS names compare case-insensitively: keep one spelling.
      std::transform(entry.begin() + 4, entry.end(), entry.begin() + 4,
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    out.push_back(entry);
  }
  out.push_back("IP:127.0.0.1");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Writes `bytes` to `path` through a fresh temporary file created with
// `mode` (O_EXCL: never an existing file, never a wider mode first), then
// renames it into place.
Status WriteFileAtomically(const std::string& path, const std::string& bytes, mode_t mode) {
  unsigned char rnd[8];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return Status(ErrorCode::kInternal, "RAND_bytes failed");
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
  const std::string tmp = path + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    return Status(ErrorCode::kInternal, "cannot create " + tmp + ": " + std::strerror(errno));
  }
  // The umask may have narrowed the mode; a certificate stays readable.
  ::fchmod(fd, mode);
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status(ErrorCode::kInternal, "cannot write " + tmp + ": " + why);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status(ErrorCode::kInternal, "cannot write " + tmp + ": " + why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status(ErrorCode::kInternal, "cannot rename " + tmp + " to " + path + ": " + why);
  }
  return Status::Ok();
}

std::string PemOf(X509* x) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string PemOf(EVP_PKEY* k) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A new certificate for `key`, signed by `issuer_key` (`issuer` null: self-
// signed), valid from an hour before `now` for `days`.
X509Ptr NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key,
                int days, int64_t now, const std::vector<std::pair<int, std::string>>& exts) {
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), 2) != 1) return nullptr;
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and 16 bytes long
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  if (!serial_ok) return nullptr;
  time_t t = static_cast<time_t>(now);
  if (!X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, -3600, &t) ||
      !X509_time_adj_ex(X509_getm_notAfter(x.get()), days, 0, &t)) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("vkspay-sandbox"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : x.get();
  if (X509_set_issuer_name(x.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(x.get(), key) != 1) {
    return nullptr;
  }
  for (const auto& [nid, value] : exts) {
    if (!AddExt(x.get(), signer, nid, value)) {
      ERR_raise_data(ERR_LIB_X509V3, X509V3_R_EXTENSION_VALUE_ERROR, "%s = %s", OBJ_nid2sn(nid),
                     value.c_str());
      return nullptr;
    }
  }
  if (X509_sign(x.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    return nullptr;
  }
  return x;
}

bool Expired(X509* x, int64_t now, int64_t margin) {
  time_t t = static_cast<time_t>(now + margin);
  return X509_cmp_time(X509_get0_notAfter(x), &t) <= 0;
}

}  // namespace

Status CheckTlsName(const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status(
        ErrorCode::kInvalidField,
        "--tls-self-signed: \"" + name + "\" is not a host name or IP address (" + why + ")");
  };
  if (name.empty()) return bad("empty");
  if (IsIpLiteral(name)) return Status::Ok();
  if (name.size() > 253) return bad("longer than 253 characters");
  std::string_view rest(name);
  if (rest.rfind("*.", 0) == 0) rest.remove_prefix(2);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t dot = rest.find('.', start);
    if (dot == std::string_view::npos) dot = rest.size();
    const std::string_view label = rest.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return bad("each label is 1 to 63 characters");
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return bad("only letters, digits, hyphens and dots");
      }
    }
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    start = dot + 1;
  }
  return Status::Ok();
}

StatusOr<TlsContext> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                   const std::string& cert_flag, const std::string& key_flag) {
  ERR_clear_error();
  if (std::string why = Unreadable(cert_file); !why.empty()) {
    return Status(ErrorCode::kInvalidField, cert_flag + " " + cert_file + ": " + why);
  }
  if (std::string why = Unreadable(key_file); !why.empty()) {
    return Status(ErrorCode::kInvalidField, key_flag + " " + key_file + ": " + why);
  }
  TlsContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Status(ErrorCode::kInternal, "SSL_CTX_new: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return Status(ErrorCode::kInvalidField,
                  cert_flag + " " + cert_file + ": not a PEM certificate (" + OpenSslError() + ")");
  }
  PkeyPtr key = ReadKey(key_file);
  if (!key) {
    return Status(ErrorCode::kInvalidField,
                  key_flag + " " + key_file + ": not a PEM private key (" + OpenSslError() + ")");
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidField, key_flag + " " + key_file +
                                                " is not the private key of the certificate in " +
                                                cert_flag + " " + cert_file);
  }
  return ctx;
}

StatusOr<SelfSignedFiles> EnsureSelfSigned(const std::string& dir,
                                           const std::vector<std::string>& names, int64_t now) {
  for (const std::string& n : names) VKSPAY_RETURN_IF_ERROR(CheckTlsName(n));
  if (names.empty()) {
    return Status(ErrorCode::kInvalidField, "--tls-self-signed: at least one host name");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(ErrorCode::kInternal, "cannot create " + dir + ": " + ec.message());
  // Only the owner lists the directory that holds the keys.
  ::chmod(dir.c_str(), 0700);
  SelfSignedFiles f;
  f.ca_cert = (std::filesystem::path(dir) / "ca.pem").string();
  f.ca_key = (std::filesystem::path(dir) / "ca-key.pem").string();
  f.cert = (std::filesystem::path(dir) / "server.pem").string();
  f.key = (std::filesystem::path(dir) / "server-key.pem").string();
  ERR_clear_error();

  X509Ptr ca;
  PkeyPtr ca_key;
  const bool have_ca = std::filesystem::exists(f.ca_cert) || std::filesystem::exists(f.ca_key);
  if (have_ca) {
    ca = ReadCert(f.ca_cert);
    ca_key = ReadKey(f.ca_key);
    if (!ca || !ca_key || X509_check_private_key(ca.get(), ca_key.get()) != 1) {
      ERR_clear_error();
      return Status(ErrorCode::kInternal,
                    "the local CA in " + dir +
                        " (ca.pem, ca-key.pem) is unreadable or its key "
                        "does not match; remove both to make a new CA (clients then trust the new "
                        "ca.pem)");
    }
    if (Expired(ca.get(), now, kRenewBefore)) {
      return Status(ErrorCode::kInternal, "the local CA " + f.ca_cert +
                                              " has expired; remove ca.pem and ca-key.pem to "
                                              "make a new one (clients then trust the new ca.pem)");
    }
  } else {
    ca_key.reset(EVP_EC_gen("P-256"));
    if (!ca_key) return Status(ErrorCode::kInternal, "EC key generation: " + OpenSslError());
    char host[256] = "";
    ::gethostname(host, sizeof host - 1);
    const std::string cn = "vkspay-sandbox local CA (" + std::string(host) + ")";
    ca = NewCert(ca_key.get(), cn, nullptr, nullptr, kCaDays, now,
                 {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                  {NID_key_usage, "critical,keyCertSign,cRLSign"},
                  {NID_subject_key_identifier, "hash"}});
    if (!ca) return Status(ErrorCode::kInternal, "CA certificate: " + OpenSslError());
    VKSPAY_RETURN_IF_ERROR(WriteFileAtomically(f.ca_key, PemOf(ca_key.get()), 0600));
    VKSPAY_RETURN_IF_ERROR(WriteFileAtomically(f.ca_cert, PemOf(ca.get()), 0644));
    f.ca_created = true;
  }

  // Reuse the leaf if it is this CA's, for these names, and not about to expire.
  const std::vector<std::string> wanted = WantedSan(names);
  X509Ptr leaf = ReadCert(f.cert);
  PkeyPtr leaf_key = ReadKey(f.key);
  ERR_clear_error();
  if (!leaf || !leaf_key) {
    f.leaf_reason = "no server certificate yet";
  } else if (X509_check_private_key(leaf.get(), leaf_key.get()) != 1) {
    ERR_clear_error();
    f.leaf_reason = "the server key does not match its certificate";
  } else if (X509_verify(leaf.get(), X509_get0_pubkey(ca.get())) != 1) {
    ERR_clear_error();
    f.leaf_reason = "the server certificate is not signed by this CA";
  } else if (Expired(leaf.get(), now, kRenewBefore)) {
    f.leaf_reason = "the server certificate expires within a day";
  } else {
    std::vector<std::string> have = SanEntries(leaf.get());
    std::sort(have.begin(), have.end());
    if (have != wanted) f.leaf_reason = "the host names changed";
  }
  if (f.leaf_reason.empty()) return f;

  leaf_key.reset(EVP_EC_gen("P-256"));
  if (!leaf_key) return Status(ErrorCode::kInternal, "EC key generation: " + OpenSslError());
  std::string san;
  for (const std::string& e : wanted) san += (san.empty() ? "" : ",") + e;
  leaf = NewCert(leaf_key.get(), names.front(), ca.get(), ca_key.get(), kLeafDays, now,
                 {{NID_basic_constraints, "critical,CA:FALSE"},
                  {NID_key_usage, "critical,digitalSignature"},
                  {NID_ext_key_usage, "serverAuth"},
                  {NID_subject_key_identifier, "hash"},
                  {NID_authority_key_identifier, "keyid:always"},
                  {NID_subject_alt_name, san}});
  if (!leaf) return Status(ErrorCode::kInternal, "server certificate: " + OpenSslError());
  VKSPAY_RETURN_IF_ERROR(WriteFileAtomically(f.key, PemOf(leaf_key.get()), 0600));
  VKSPAY_RETURN_IF_ERROR(WriteFileAtomically(f.cert, PemOf(leaf.get()), 0644));
  f.leaf_created = true;
  return f;
}

std::vector<std::string> ServedDnsNames(SSL_CTX* ctx) {
  std::vector<std::string> out;
  X509* x = SSL_CTX_get0_certificate(ctx);
  if (x == nullptr) return out;
  for (const std::string& e : SanEntries(x)) {
    if (e.rfind("DNS:", 0) == 0) out.push_back(e.substr(4));
  }
  return out;
}

std::vector<std::string> SubjectAltNamesOf(const std::string& pem_file) {
  X509Ptr x = ReadCert(pem_file);
  ERR_clear_error();
  return x ? SanEntries(x.get()) : std::vector<std::string>{};
}

}  // namespace vkspay::sandbox
