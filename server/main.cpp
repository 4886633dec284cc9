// ntp-server: a reference NTP server (RFC 5905) that can also misbehave on purpose.
#include <pthread.h>
#include <sys/random.h>

#include <csignal>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ntpkit/crypto/nts_ke_server.hpp"

#include "kernel_clock.hpp"
#include "options.hpp"
#include "udp_server.hpp"

int main(int argc, char** argv) {
  using namespace ntpkit::server;
  CLI::App app{"ntp-server: a reference NTP server (RFC 5905) that can misbehave on purpose"};
  Options opts;
  setup_options(app, opts);
  app.set_version_flag("--version", "ntp-server " NTPKIT_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other problem is one line naming us, exit 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "%s: %s (see %s --help)\n", "ntp-server", e.what(), "ntp-server");
    return 2;
  }
  if (opts.list_misbehaviours) {
    std::fputs(list_misbehaviours(opts.format).c_str(), stdout);
    return 0;
  }
  Config config;
  if (auto err = to_config(opts, config); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 2;
  }
  if (config.precision_auto) config.state.precision = measure_precision();

  std::vector<std::vector<Listener>> workers;
  if (auto err = open_listeners(config, workers); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 3;
  }
  // NTS (RFC 8915): the KE server on the first listener's address; it names the NTP port when
  // that is not 123.
  std::optional<ntpkit::crypto::KeServer> ke;
  if (!config.nts_cert.empty()) {
    ntpkit::crypto::KeServerOptions k;
    k.cert_file = config.nts_cert;
    k.key_file = config.nts_key;
    k.address = config.listen_at.front().host;
    k.port = static_cast<uint16_t>(config.nts_port);
    k.faults = config.nts_tls;
    auto opened = ntpkit::crypto::KeServer::open(k);
    if (!opened) {
      std::fprintf(stderr, "ntp-server: %s\n", opened.error().c_str());
      return 3;
    }
    ke.emplace(std::move(*opened));
    // The port the first listener really has (--listen ADDR:0 takes any free one).
    const std::string& first = workers.front().front().name;
    const auto ntp_port = static_cast<uint16_t>(std::stoul(first.substr(first.rfind(':') + 1)));
    if (ntp_port != 123) config.nts_ke.ntp_port = ntp_port;
  }
  // After the KE server read its key and bound its port (both may need root).
  if (auto err = drop_privileges(config.user); !err.empty()) {
    std::fprintf(stderr, "ntp-server: %s\n", err.c_str());
    return 3;
  }
  for (const auto& l : workers.front()) std::printf("NTP server listening on %s\n", l.name.c_str());
  if (ke) std::printf("NTS-KE server listening on %s\n", ke->name().c_str());
  if (workers.size() > 1) std::printf("%zu workers (SO_REUSEPORT)\n", workers.size());
  if (config.misbehaviour.any()) {
    std::string names;
    for (const auto& f : ntpkit::fault_catalogue()) {
      if (config.misbehaviour.has(f.fault)) names += (names.empty() ? "" : ", ") + std::string(f.name);
    }
    std::printf("misbehaving on purpose: %s\n", names.c_str());
  }
  std::fflush(stdout);
  std::atomic<bool> ke_stop{false};
  std::thread ke_thread;
  if (ke) {
    // The signals serve() waits for are blocked in every thread but the one that sigwaits: the KE
    // threads inherit the mask from here.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGINT, SIGTERM, SIGUSR1, SIGHUP}) sigaddset(&signals, sig);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ke_thread = std::thread([&] {
      const ntpkit::crypto::KeHandler handler = [&config](std::span<const uint8_t> request,
                                                          const ntpkit::nts::KeyExporter& exporter) {
        const ntpkit::nts::RandomSource random = [](std::span<uint8_t> out) {
          if (getrandom(out.data(), out.size(), 0) != static_cast<ssize_t>(out.size())) {
            for (auto& b : out) b = static_cast<uint8_t>(std::rand());
          }
        };
        return ntpkit::nts::answer_ke(request, config.nts_ke, *config.nts_jar, *config.nts_aead, exporter, random);
      };
      std::function<void(const std::string&)> log;
      if (config.verbose) log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
      ke->serve(handler, ke_stop, log);
    });
  }
  // A new cookie master key every --nts-rotate seconds; the jar keeps the one before opening.
  std::mutex rotation_mutex;
  std::condition_variable rotation_wake;
  bool rotation_stop = false;
  std::thread rotation_thread;
  if (ke) {
    rotation_thread = std::thread([&] {
      std::unique_lock lock(rotation_mutex);
      while (!rotation_wake.wait_for(lock, config.nts_rotate, [&] { return rotation_stop; })) {
        const uint32_t id = config.nts_jar->current_id() + 1;
        auto next = random_master_key(id);
        if (!next) {
          std::fprintf(stderr, "ntp-server: no random bytes for a new NTS master key; keeping key %u\n", id - 1);
          continue;
        }
        config.nts_jar->rotate(std::move(*next));
        if (config.verbose) std::fprintf(stderr, "NTS cookie master key %u in use\n", id);
      }
    });
  }
  const int rc = serve(config, workers);
  ke_stop = true;
  {
    const std::lock_guard lock(rotation_mutex);
    rotation_stop = true;
  }
  rotation_wake.notify_all();
  if (rotation_thread.joinable()) rotation_thread.join();
  if (ke_thread.joinable()) ke_thread.join();
  return rc;
}
