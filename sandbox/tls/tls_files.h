// Certificates for serving the sandbox over HTTPS (issue #18): loading a
// certificate and key the operator supplies (--tls-cert, --tls-key), and
// generating, once, a local CA and a leaf certificate for VksPay's own host
// name (--tls-self-signed), so that code with the API host written into it
// reaches the sandbox unmodified (README "Unmodified code").
//
// Files in the TLS directory (EnsureSelfSigned):
//   ca.pem        the local CA certificate: what clients are told to trust
//   ca-key.pem    its private key, mode 0600; never served, never sent
//   server.pem    the leaf certificate (SAN: the names and 127.0.0.1)
//   server-key.pem  its private key, mode 0600
// Keys are written to a fresh file opened O_CREAT|O_EXCL with mode 0600 and
// renamed into place, so no key is world-readable even briefly. The CA is
// kept across starts (clients trust it once); the leaf is issued again when
// the requested names change, when it expires within a day, or when it is
// not the CA's.
//
// Everything here is thread-compatible: no shared state but OpenSSL's.
// Serial numbers come from RAND_bytes.
#ifndef VKSPAY_SANDBOX_TLS_TLS_FILES_H_
#define VKSPAY_SANDBOX_TLS_TLS_FILES_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vkspay/protocol/status.h"

namespace vkspay::sandbox {

// VksPay's API host, the default of --tls-self-signed.
inline constexpr char kVksPayApiHost[] = "vk-spay-openapi.fsq.pub";

// An SSL_CTX for the server side, shared by every connection (SSL_CTX is
// thread-safe once configured).
using TlsContext = std::shared_ptr<SSL_CTX>;

// Builds a server context from a PEM certificate chain and a PEM private
// key: TLS 1.2 and later, no renegotiation, partial and moving writes (the
// HTTP front writes from non-blocking sockets). Errors (kInvalidField), each
// naming the flag and the file: the file cannot be opened (with errno's
// text), holds no PEM certificate or key (with OpenSSL's reason), or the key
// is not the certificate's. `cert_flag` / `key_flag` name the flags in those
// messages ("--tls-cert").
StatusOr<TlsContext> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                   const std::string& cert_flag = "--tls-cert",
                                   const std::string& key_flag = "--tls-key");

// Checks one name for --tls-self-signed: a DNS name (letters, digits,
// hyphens, dots; a leading "*." allowed) or an IPv4/IPv6 literal. Errors
// (kInvalidField) name the flag and the name.
Status CheckTlsName(const std::string& name);

struct SelfSignedFiles {
  std::string ca_cert;        // dir/ca.pem
  std::string ca_key;         // dir/ca-key.pem
  std::string cert;           // dir/server.pem
  std::string key;            // dir/server-key.pem
  bool ca_created = false;    // this call made a new CA
  bool leaf_created = false;  // this call issued the leaf
  std::string leaf_reason;    // why it was issued ("no leaf yet", "names changed", ...)
};

// Makes sure `dir` (created 0700 if missing) holds a CA and a leaf for
// `names` (each checked by CheckTlsName; 127.0.0.1 is always added),
// valid at `now` (seconds since the epoch; the CA for 10 years, the leaf
// for 825 days). Reuses what is there when it fits. Errors: a bad name
// (kInvalidField), a directory or file that cannot be written or a CA that
// cannot be read (kInternal, naming the path).
StatusOr<SelfSignedFiles> EnsureSelfSigned(const std::string& dir,
                                           const std::vector<std::string>& names, int64_t now);

// The DNS names in the subjectAltName of the certificate `ctx` serves, in
// order (empty if none): the first one names the payment links.
std::vector<std::string> ServedDnsNames(SSL_CTX* ctx);

// The DNS and IP entries of a PEM certificate file's subjectAltName
// ("DNS:name", "IP:127.0.0.1"); empty if unreadable.
std::vector<std::string> SubjectAltNamesOf(const std::string& pem_file);

}  // namespace vkspay::sandbox

#endif  // VKSPAY_SANDBOX_TLS_TLS_FILES_H_
