// vkspay-sandbox: flags and wiring only. Everything else is in the folders.
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "sandbox/config/config.h"
#include "sandbox/core/action_scheduler.h"
#include "sandbox/core/payments.h"
#include "sandbox/core/sandbox_clock.h"
#include "sandbox/faults/fault_engine.h"
#include "sandbox/faults/profiles.h"
#include "sandbox/notify/dispatcher.h"
#include "sandbox/notify/http_sender.h"
#include "sandbox/notify/url_guard.h"
#include "sandbox/server/sandbox_server.h"
#include "sandbox/store/store.h"
#include "sandbox/telemetry/log.h"
#include "sandbox/telemetry/telemetry.h"
#include "sandbox/tls/tls_files.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/version.h"

namespace {

using namespace vkspay;
using namespace vkspay::sandbox;

// $XDG_STATE_HOME/vkspay-sandbox, else ~/.local/state/vkspay-sandbox.
std::filesystem::path StateDir() {
  std::filesystem::path dir;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) {
    dir = x;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    dir = std::filesystem::path(h) / ".local" / "state";
  } else {
    dir = ".";
  }
  return dir / "vkspay-sandbox";
}

std::string DefaultDbPath() {
  if (const char* p = std::getenv("VKSPAY_SANDBOX_DB"); p && *p) return p;
  return (StateDir() / "sandbox.db").string();
}

bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    size_t used = 0;
    *port = std::stoi(listen.substr(colon + 1), &used);
    return used == listen.size() - colon - 1 && *port >= 0 && *port <= 65535 && !host->empty();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vkspay-sandbox: an offline VksPay v2.0 server for development and CI"};
  std::string listen = "127.0.0.1:8080";
  std::string db_path = DefaultDbPath();
  std::string config_path;
  std::string control_token;
  std::string public_url;
  uint64_t seed = 0;
  bool quiet = false;
  int threads = 16;
  int max_threads = 256;
  double head_timeout = 5;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--db", db_path, "SQLite database file, or :memory: (env VKSPAY_SANDBOX_DB)")
      ->capture_default_str();
  app.add_option("--config", config_path, "JSON config file with merchants and settings");
  app.add_option("--control-token", control_token,
                 "token for /_sandbox/ (generated when listening beyond loopback)")
      ->envname("VKSPAY_CONTROL_TOKEN");
  app.add_option("--public-url", public_url,
                 "http(s) base URL used in payment links (default: the sandbox's own address as "
                 "the client reached it; never a request header)");
  app.add_option("--seed", seed,
                 "seed for fault-injection decisions only (0: drawn at start-up); tokens, ids "
                 "and nonces always come from a CSPRNG");
  app.add_option("--threads", threads, "HTTP worker threads always running")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--max-threads", max_threads,
                 "HTTP worker threads at most (grown on demand; idle connections hold none)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--head-timeout", head_timeout,
                 "seconds a request head may take to arrive (then 408; its body gets twice that)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_flag("--quiet", quiet,
               "log warnings only (refused requests at the HTTP front, unknown routes, "
               "notifications that failed or were blocked, operator notes)");
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text (key=value) or json (one object per line) for the log on stderr")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  // HTTPS (issue #18, README "Unmodified code"): through the same front.
  std::string tls_cert, tls_key;
  std::string tls_names_arg;
  std::string tls_dir = (StateDir() / "tls").string();
  app.add_option("--tls-cert", tls_cert,
                 "serve HTTPS with this PEM certificate (chain) on the --listen address");
  app.add_option("--tls-key", tls_key, "the PEM private key of --tls-cert");
  CLI::Option* self_signed =
      app.add_option("--tls-self-signed", tls_names_arg,
                     "serve HTTPS as HOST[,HOST...] (default: VksPay's API host " +
                         std::string(kVksPayApiHost) +
                         ") with a certificate from a local CA made once in --tls-dir")
          ->expected(0, 1);
  app.add_option("--tls-dir", tls_dir,
                 "where --tls-self-signed keeps its CA and certificate (keys 0600)")
      ->capture_default_str();
  // Notification delivery (docs/notify.md); each overrides the config file.
  std::string notify_profile;
  double time_scale = 0;
  std::string forward_to;
  std::vector<std::string> notify_allow;
  int64_t notify_timeout_ms = 0;
  int64_t notify_workers = 0;
  int64_t notify_per_host = 0;
  int64_t notify_per_host_max = 0;
  std::string notify_ca_file;
  bool strict_notify_url = false;
  bool notify_refuse_loopback = false;
  app.add_option("--notify-profile", notify_profile,
                 "retry schedule: vkspay (default), alipay, fast, or custom (from the config)")
      ->check(CLI::IsMember({"vkspay", "alipay", "fast", "custom"}));
  app.add_option("--time-scale", time_scale,
                 "multiply every retry delay (0.001 turns the day-long schedule into ~90 s)")
      ->check(CLI::Range(1e-9, 1000.0));
  app.add_option("--forward-to", forward_to,
                 "deliver every notification to this URL instead of its notify_url");
  app.add_option("--notify-allow", notify_allow,
                 "host, IP or CIDR notifications may go to (repeatable; loopback, unless refused, "
                 "and configured notify_url hosts are always allowed; the sandbox's own address "
                 "never is)");
  app.add_option("--notify-timeout-ms", notify_timeout_ms, "timeout per notification attempt")
      ->check(CLI::Range(int64_t{1}, int64_t{600'000}));
  app.add_option("--notify-workers", notify_workers, "notification delivery threads")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("--notify-per-host", notify_per_host,
                 "attempts in flight per merchant host:port to start with and after a failure")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("--notify-per-host-max", notify_per_host_max,
                 "attempts in flight a fast, healthy merchant host grows to")
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  app.add_option("--notify-ca-file", notify_ca_file,
                 "extra CA certificates (PEM) to trust for https notify URLs");
  app.add_flag("--strict-notify-url", strict_notify_url,
               "refuse a webpay whose notify_url is not allowed (default: accept it and hold its "
               "notification as blocked); implies --notify-refuse-loopback");
  app.add_flag("--notify-refuse-loopback", notify_refuse_loopback,
               "refuse loopback notify destinations (127.0.0.0/8, ::1) unless --notify-allow lists "
               "the IP or CIDR; for shared deployments");
  // Fault injection (docs/faults.md); each overrides the config file.
  std::string fault_profile;
  std::string faults_dir = DefaultFaultsDir();
  app.add_option("--fault-profile", fault_profile,
                 "fault profile: strict (default), realistic, or a scenario file "
                 "<faults-dir>/<name>.json");
  app.add_option("--faults-dir", faults_dir,
                 "scenario files and magic_amounts.json (default: share/vkspay-sandbox/faults "
                 "of an installed sandbox, else the source tree's fixtures/faults)")
      ->capture_default_str();
  app.set_version_flag("--version", vkspay::VersionLine("vkspay-sandbox"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and exit 0; any other parse error is a usage
    // error, exit 2 (CLI11's own codes, 109 for an unknown flag, read like a crash).
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::string host;
  int port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    std::cerr << "vkspay-sandbox: --listen must be HOST:PORT, got \"" << listen << "\"\n";
    return 2;
  }
  // HTTPS: a certificate the operator gives, or the local CA's.
  std::shared_ptr<SSL_CTX> tls;
  std::string link_host;
  std::optional<SelfSignedFiles> self_signed_files;
  const bool want_self_signed = self_signed->count() > 0;
  // HOST[,HOST...]; an empty entry (a stray comma) is refused below.
  std::vector<std::string> tls_names;
  for (size_t start = 0; !tls_names_arg.empty() && start <= tls_names_arg.size();) {
    size_t comma = tls_names_arg.find(',', start);
    if (comma == std::string::npos) comma = tls_names_arg.size();
    tls_names.push_back(tls_names_arg.substr(start, comma - start));
    start = comma + 1;
  }
  if (want_self_signed && (!tls_cert.empty() || !tls_key.empty())) {
    std::cerr << "vkspay-sandbox: --tls-self-signed makes its own certificate; give it or "
                 "--tls-cert/--tls-key, not both\n";
    return 2;
  }
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "vkspay-sandbox: " << (tls_cert.empty() ? "--tls-key" : "--tls-cert") << " needs "
              << (tls_cert.empty() ? "--tls-cert" : "--tls-key") << " too\n";
    return 2;
  }
  SandboxConfig config = SandboxConfig::Demo();
  if (!config_path.empty()) {
    StatusOr<SandboxConfig> loaded = LoadConfigFile(config_path);
    if (!loaded.ok()) {
      std::cerr << "vkspay-sandbox: " << loaded.status().ToString() << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  if (!public_url.empty()) {
    if (Status st = NormalizePublicUrl("--public-url", &public_url); !st.ok()) {
      std::cerr << "vkspay-sandbox: " << st.message() << "\n";
      return 2;
    }
    config.settings.public_base_url = public_url;
  }
  if (!control_token.empty()) config.settings.control_token = control_token;
  if (seed != 0) config.settings.seed = seed;
  Settings& settings = config.settings;
  if (!notify_profile.empty()) settings.notify_profile = notify_profile;
  if (time_scale > 0) settings.time_scale = time_scale;
  if (!forward_to.empty()) {
    if (forward_to.rfind("http://", 0) != 0 && forward_to.rfind("https://", 0) != 0) {
      std::cerr << "vkspay-sandbox: --forward-to must be an http:// or https:// URL, got \""
                << forward_to << "\"\n";
      return 2;
    }
    settings.forward_to = forward_to;
  }
  settings.notify_allow.insert(settings.notify_allow.end(), notify_allow.begin(),
                               notify_allow.end());
  if (notify_timeout_ms > 0) settings.notify_timeout_ms = notify_timeout_ms;
  if (notify_workers > 0) settings.notify_workers = notify_workers;
  if (notify_per_host > 0) settings.notify_per_host = notify_per_host;
  if (notify_per_host_max > 0) {
    if (notify_per_host_max < settings.notify_per_host) {
      std::cerr << "vkspay-sandbox: --notify-per-host-max must be at least --notify-per-host ("
                << settings.notify_per_host << "), got " << notify_per_host_max << "\n";
      return 2;
    }
    settings.notify_per_host_max = notify_per_host_max;
  } else if (settings.notify_per_host_max < settings.notify_per_host) {
    settings.notify_per_host_max = settings.notify_per_host;  // --notify-per-host 64 alone
  }
  if (!notify_ca_file.empty()) settings.notify_ca_file = notify_ca_file;
  if (strict_notify_url) settings.strict_notify_url = true;
  if (notify_refuse_loopback) settings.notify_refuse_loopback = true;
  StatusOr<DispatcherOptions> notify_options = DispatcherOptionsFor(settings);
  if (!notify_options.ok()) {
    std::cerr << "vkspay-sandbox: " << notify_options.status().message() << "\n";
    return 2;
  }
  UrlGuard guard(UrlGuardOptionsFor(settings));
  AllowConfiguredHosts(guard, config);
  if (Status allow = guard.CheckAllowList(); !allow.ok()) {
    std::cerr << "vkspay-sandbox: notify_allow: " << allow.message() << "\n";
    return 2;
  }

  SystemClock system_clock;
  // THE clock of the sandbox: the system clock plus what
  // POST /_sandbox/clock/advance added.
  SandboxClock clock(&system_clock);
  // Cashier tokens, generated ids, notification nonces and the control
  // token: a CSPRNG, never the seed (issue #13 finding 5: a seeded generator
  // let one merchant predict another's cashier token).
  CryptoRandom rng;
  bool generated_token = false;
  if (config.settings.control_token.empty() && !IsLoopbackHost(host)) {
    config.settings.control_token = rng.Hex128();
    generated_token = true;
  }

  // After every other check: a refused flag or config writes no CA.
  if (want_self_signed) {
    if (tls_names.empty()) tls_names.push_back(kVksPayApiHost);
    for (const std::string& n : tls_names) {
      if (Status st = CheckTlsName(n); !st.ok()) {
        std::cerr << "vkspay-sandbox: " << st.message() << "\n";
        return 2;
      }
    }
    StatusOr<SelfSignedFiles> made =
        EnsureSelfSigned(tls_dir, tls_names, static_cast<int64_t>(std::time(nullptr)));
    if (!made.ok()) {
      std::cerr << "vkspay-sandbox: --tls-self-signed: " << made.status().message() << "\n";
      return 1;
    }
    self_signed_files = *made;
    tls_cert = made->cert;
    tls_key = made->key;
  }
  if (!tls_cert.empty()) {
    StatusOr<TlsContext> loaded = LoadServerTls(tls_cert, tls_key);
    if (!loaded.ok()) {
      std::cerr << "vkspay-sandbox: " << loaded.status().message() << "\n";
      return 2;
    }
    tls = *loaded;
    // Payment links name the host the certificate is for (a wildcard names
    // no host: the address is used then).
    if (want_self_signed) {
      link_host = tls_names.front();
    } else {
      for (const std::string& n : ServedDnsNames(tls.get())) {
        if (n.find('*') == std::string::npos) {
          link_host = n;
          break;
        }
      }
    }
    if (link_host.find('*') != std::string::npos) link_host.clear();
    if (link_host.find(':') != std::string::npos) link_host = "[" + link_host + "]";
  }
  if (db_path != ":memory:") {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(db_path).parent_path(), ec);
  }
  SqliteStoreOptions store_options;  // synchronous NORMAL: survives kill -9
  store_options.path = db_path;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(store_options);
  if (!store.ok()) {
    std::cerr << "vkspay-sandbox: " << store.status().ToString() << "\n";
    return 1;
  }

  // Block SIGINT/SIGTERM before any thread starts, so every thread inherits
  // the mask and main can wait for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  static std::mutex log_mu;
  LoggerOptions logger_options;
  logger_options.format = *ParseLogFormat(log_format);  // checked by CLI11
  logger_options.quiet = quiet;
  logger_options.write = [](const std::string& line) {
    // One write per line (std::cerr is unbuffered: `<< line << "\n"` made
    // two syscalls, at thousands of notification attempts per second).
    std::string out;
    out.reserve(line.size() + 1);
    out += line;
    out += '\n';
    std::lock_guard<std::mutex> lock(log_mu);
    std::cerr.write(out.data(), static_cast<std::streamsize>(out.size()));
  };
  // Declared before every component that logs, so it outlives them all.
  const Logger logger(std::move(logger_options));

  FaultEngineOptions fault_options;
  // Rules without a seed of their own derive theirs from this one, so a run
  // with --seed N injects the same faults for the same requests. The seed
  // drives nothing else.
  fault_options.seed = config.settings.seed;
  while (fault_options.seed == 0) fault_options.seed = rng.Next();
  fault_options.profiles_dir = faults_dir;
  if (const std::string magic_path = faults_dir + "/magic_amounts.json";
      std::filesystem::exists(magic_path)) {
    StatusOr<MagicAmountTable> magic = MagicAmountTable::Load(magic_path);
    if (!magic.ok()) {
      std::cerr << "vkspay-sandbox: " << magic.status().ToString() << "\n";
      return 2;
    }
    fault_options.magic = std::move(*magic);
  }
  FaultEngine faults(clock, fault_options);
  if (Status st = faults.Configure(config.faults); !st.ok()) {
    std::cerr << "vkspay-sandbox: faults: " << st.ToString() << "\n";
    return 2;
  }
  if (!fault_profile.empty()) {
    if (Status st = faults.SetProfile(fault_profile); !st.ok()) {
      std::cerr << "vkspay-sandbox: --fault-profile: " << st.ToString() << "\n";
      return 2;
    }
  }
  // One line per injected fault (the record has no keys in it).
  faults.SetLogCallback([&logger](const InjectedFault& f) {
    logger.Message(LogLevel::kInfo, "fault",
                   "fault " + InjectedFaultJson(f).dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace));
  });

  (*store)->SetNotifyPlanner(MakeNotifyPlanner(faults, clock, settings.time_scale));
  // The delivery feed, API stats and gauges behind /_sandbox/stats and
  // /_sandbox/deliveries; declared before the dispatcher and the server so
  // that both are gone before it is.
  Telemetry telemetry;
  SandboxContext ctx{&config, store->get(), &clock,     &rng,   &clock,
                     &guard,  &faults,      &telemetry, &logger};
  HttpSenderOptions sender_options;
  sender_options.ca_file = settings.notify_ca_file;
  std::unique_ptr<HttpSender> sender = MakeHttpSender(sender_options);
  // One line per attempt (never keys); failed and blocked ones are warnings.
  notify_options->log = logger.Sink(LogLevel::kInfo, "notify");
  notify_options->warn_log = logger.Sink(LogLevel::kWarn, "notify");
  // Declared after the store and before the server: stopped and destroyed
  // after the server, before the store closes.
  Dispatcher dispatcher(ctx, &guard, sender.get(), *notify_options);
  // Read by /_sandbox/stats on server threads; the server stops before the
  // dispatcher goes away (declared after it).
  telemetry.AddGauge("notify_held", [&dispatcher] { return static_cast<int64_t>(dispatcher.held()); });
  telemetry.AddGauge("notify_extras_waiting",
                     [&dispatcher] { return static_cast<int64_t>(dispatcher.extras_waiting()); });
  telemetry.AddMetricGauge("vkspay_notify_held", "Notifications queued or in flight in memory.",
                           [&dispatcher] { return static_cast<double>(dispatcher.held()); });
  telemetry.AddMetricGauge(
      "vkspay_notify_extras_waiting",
      "Extra deliveries of fault injection (duplicate, times, replay) waiting for their time.",
      [&dispatcher] { return static_cast<double>(dispatcher.extras_waiting()); });
  if (db_path != ":memory:") {
    // The files as the OS sees them: the WAL grows between checkpoints.
    auto file_bytes = [](std::string path) {
      return [path = std::move(path)] {
        std::error_code ec;
        const auto n = std::filesystem::file_size(path, ec);
        return ec ? 0.0 : static_cast<double>(n);
      };
    };
    telemetry.AddMetricGauge("vkspay_database_size_bytes", "Size of the SQLite database file.",
                             file_bytes(db_path));
    telemetry.AddMetricGauge("vkspay_database_wal_size_bytes",
                             "Size of the SQLite write-ahead log (the -wal file; 0 when absent).",
                             file_bytes(db_path + "-wal"));
  }
  (*store)->SetOutboxObserver([&dispatcher] { dispatcher.Wake(); });
  // USERPAYING, late payments and PROCESSING refunds end on the sandbox
  // clock; a clock advance applies what fell due before it answers.
  ActionSchedulerOptions action_options;
  action_options.log = logger.Sink(LogLevel::kWarn, "actions");  // errors only
  ActionScheduler actions(store->get(), &clock, action_options);
  clock.AddObserver([&dispatcher, &actions] {
    actions.ApplyDueNow();
    dispatcher.Wake();
  });
  ServerOptions options;
  options.host = host;
  options.port = port;
  options.threads = threads;
  options.max_threads = max_threads;
  options.head_timeout_ms = static_cast<int64_t>(head_timeout * 1000);
  options.body_timeout_ms = 2 * options.head_timeout_ms;
  options.refusal_log = logger.Sink(LogLevel::kWarn, "http");
  options.control_token = config.settings.control_token;
  options.logger = &logger;
  options.tls = tls;
  options.link_host = link_host;
  SandboxServer server(ctx, options);
  StatusOr<int> bound = server.Start();
  if (!bound.ok()) {
    std::cerr << "vkspay-sandbox: " << bound.status().message() << "\n";
    return 1;
  }
  // Never deliver to the sandbox's own address, whatever its spelling (issue
  // #13 finding 6): known only now that the server has bound.
  if (Status own = guard.SetOwnListener(host, server.port()); !own.ok()) {
    std::cerr << "vkspay-sandbox: " << own.message() << "\n";
    return 1;
  }
  actions.Start();     // applies what fell due while the sandbox was down
  dispatcher.Start();  // resumes every pending notification
  const std::string base = server.base_url();
  std::cout << "vkspay-sandbox ready: listening on " << base << " (db " << db_path << ")"
            << std::endl;
  for (const Merchant& m : config.merchants) {
    if (m.key == kDemoKey) {
      std::cout << "  demo merchant: merchantno " << m.merchantno << ", key " << m.key << "\n";
    } else {
      std::cout << "  merchant: merchantno " << m.merchantno << " (key from " << config_path
                << ")\n";
    }
  }
  std::cout << "  notifications: profile " << notify_options->schedule.name << " ("
            << notify_options->schedule.Describe() << ")";
  if (settings.time_scale != 1.0) std::cout << ", time scale " << settings.time_scale;
  if (!settings.forward_to.empty()) std::cout << ", forwarded to " << settings.forward_to;
  if (settings.strict_notify_url) std::cout << ", strict notify_url";
  if (settings.strict_notify_url || settings.notify_refuse_loopback) {
    std::cout << ", loopback refused";
  }
  std::cout << "\n";
  std::cout << "  faults: profile " << faults.profile() << ", " << faults.ListRules().size()
            << " rule(s), magic amounts " << (faults.magic_amounts_enabled() ? "on" : "off")
            << ", seed " << fault_options.seed
            << " (fault decisions only; tokens and ids come from a CSPRNG; docs/faults.md)\n";
  if (tls) {
    const std::string served =
        link_host.empty() ? base
                          : "https://" + link_host +
                                (server.port() == 443 ? "" : ":" + std::to_string(server.port()));
    std::cout << "  https: " << served << " (payment links use "
              << (config.settings.public_base_url.empty() ? served
                                                          : config.settings.public_base_url)
              << "), certificate " << tls_cert << "\n";
  }
  if (self_signed_files) {
    const SelfSignedFiles& f = *self_signed_files;
    std::string names;
    for (const std::string& n : tls_names) names += n + ", ";
    std::cout << "  local CA: " << f.ca_cert
              << (f.ca_created ? " (made now)" : " (kept from an earlier start)")
              << "; server certificate for " << names << "127.0.0.1"
              << (f.leaf_created ? " (issued now: " + f.leaf_reason + ")" : " (kept)")
              << "; keys 0600 in " << tls_dir << ", never sent\n";
    std::string ip = host == "0.0.0.0" || host == "::" || host == "localhost" ? "127.0.0.1" : host;
    std::string map;
    for (const std::string& n : tls_names) {
      if (n.find('*') == std::string::npos && !IsLoopbackHost(n) &&
          n.find_first_not_of("0123456789.:") != std::string::npos) {
        map += (map.empty() ? "" : " ") + n;
      }
    }
    std::cout << "  to run unmodified code against it (README \"Unmodified code\"):\n";
    if (!map.empty()) {
      std::cout << "    1. map the name: add the line \"" << ip << " " << map
                << "\" to /etc/hosts (Windows: C:\\Windows\\System32\\drivers\\etc\\hosts)\n";
    } else {
      std::cout << "    1. nothing to map: the names are addresses\n";
    }
    std::cout << "    2. trust the CA: Node and uniCloud local runs: NODE_EXTRA_CA_CERTS="
              << f.ca_cert << "\n       the system: sudo cp " << f.ca_cert
              << " /usr/local/share/ca-certificates/vkspay-sandbox.crt && sudo "
                 "update-ca-certificates\n       curl: --cacert "
              << f.ca_cert << "\n";
    if (server.port() != 443) {
      std::cout << "    3. code with https://" << tls_names.front()
                << "/api written in reaches port 443: listen there (--listen " << ip
                << ":443, as root or with CAP_NET_BIND_SERVICE)\n";
    } else {
      std::cout << "    3. run the code unmodified: it reaches https://" << tls_names.front()
                << "/api here\n";
    }
  }
  if (generated_token) {
    std::cout << "  control API token (listening beyond loopback): "
              << config.settings.control_token << "\n";
  }
  // The CLI verifies the certificate: point it at the local CA (the leaf
  // names 127.0.0.1 too, so the address works without the hosts line).
  const std::string cli_base =
      self_signed_files ? base + " --cacert " + self_signed_files->ca_cert : base;
  std::cout << "  try: vkspay --base-url " << cli_base
            << " webpay --total-fee 0.01 --notify-url http://127.0.0.1:9000/notify\n"
            << "       then open the printed payment link, or: vkspay --base-url " << cli_base
            << " pay <out_trade_no>" << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  logger.Message(
      LogLevel::kInfo, "sandbox",
      std::string("vkspay-sandbox: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
  telemetry.deliveries.Close();  // long polls answer now, not at their wait's end
  server.Stop();
  actions.Stop();
  dispatcher.Stop();  // lets attempts in flight finish and record
  return 0;
}
