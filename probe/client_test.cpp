#include "client_test.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <utility>

#include "ntpkit/conformance/suite.hpp"
#include "ntpkit/server/misbehaviour.hpp"
#include "ntpkit/server/server.hpp"
#include "ntpkit/util/clock.hpp"
#include "ntpkit/wire/parse.hpp"
#include "report.hpp"
#include "udp_client.hpp"

extern char** environ;

namespace ntpkit::probe {
namespace {

using conformance::Case;
using conformance::ClientRun;
using conformance::Observation;

constexpr size_t kMaxLogged = 64;              // requests and replies kept per scenario: the evidence
constexpr size_t kMaxOutput = 16 * 1024;       // of the client's output
constexpr size_t kMaxRequestsServed = 10'000;  // a flooding client is answered no further

// --- The scenario's server -------------------------------------------------------------------

// One UDP socket on the listen address answering as respond() decides under the scenario's
// misbehaviour, on its own thread, every request and reply logged (the first kMaxLogged).
class ScenarioServer {
 public:
  ~ScenarioServer() {
    stop();
    for (int fd : {fd_, other_fd_}) {
      if (fd >= 0) close(fd);
    }
  }

  // The error sentence, or empty.
  std::string start(const std::string& host, uint16_t port, const Misbehaviour& mb) {
    mb_ = mb;
    sockaddr_storage a{};
    socklen_t len = 0;
    if (host.find(':') != std::string::npos) {
      auto& s6 = reinterpret_cast<sockaddr_in6&>(a);
      s6.sin6_family = AF_INET6;
      s6.sin6_port = htons(port);
      if (inet_pton(AF_INET6, host.c_str(), &s6.sin6_addr) != 1) return "--listen " + host + ": not an IPv6 address";
      len = sizeof s6;
    } else {
      auto& s4 = reinterpret_cast<sockaddr_in&>(a);
      s4.sin_family = AF_INET;
      s4.sin_port = htons(port);
      if (inet_pton(AF_INET, host.c_str(), &s4.sin_addr) != 1) return "--listen " + host + ": not an IPv4 address";
      len = sizeof s4;
    }
    for (int* fd : {&fd_, &other_fd_}) {
      *fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (*fd < 0 || bind(*fd, reinterpret_cast<const sockaddr*>(&a), len) != 0) {
        return "cannot bind a UDP socket on " + host + (port != 0 ? " port " + std::to_string(port) : "") + ": " +
               std::strerror(errno);
      }
      // The other socket (reply-from-other-port) takes any free port.
      if (a.ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in&>(a).sin_port = 0;
      } else {
        reinterpret_cast<sockaddr_in6&>(a).sin6_port = 0;
      }
    }
    const int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(bound).sin_port
                                             : reinterpret_cast<sockaddr_in6&>(bound).sin6_port);
    state_.reference_time = clock_.now();
    thread_ = std::thread([this] { serve(); });
    return {};
  }

  [[nodiscard]] uint16_t port() const { return port_; }

  // Stops the thread; the log is complete after it.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // --daemon: the next scenario's answers from now on, a fresh log, and the total counted anew.
  void switch_to(const Misbehaviour& mb) {
    const std::lock_guard lock(m_);
    mb_ = mb;
    quiet_ = false;
    served_ = 0;
  }
  // Requests are logged and not answered: no reply of this scenario is on its way when the next begins.
  void quiet() {
    const std::lock_guard lock(m_);
    quiet_ = true;
  }

  struct Log {
    std::vector<conformance::Received> requests;  // the client's
    std::vector<conformance::Sent> replies;       // ours
    size_t total_requests = 0;
  };
  // What was logged since the last take (or the start), and a fresh log.
  Log take() {
    const std::lock_guard lock(m_);
    return std::exchange(log_, Log{});
  }

 private:
  void serve() {
    std::vector<uint8_t> in(2048), out(4096);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      sockaddr_storage from{};
      iovec iov{in.data(), in.size()};
      std::array<char, CMSG_SPACE(sizeof(timespec))> control{};
      msghdr m{};
      m.msg_name = &from;
      m.msg_namelen = sizeof from;
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = control.data();
      m.msg_controllen = control.size();
      const ssize_t n = recvmsg(fd_, &m, MSG_DONTWAIT);
      if (n < 0) continue;
      const socklen_t flen = m.msg_namelen;
      // When it arrived (the kernel's stamp), not when this thread got to it: a reply held back
      // (delay=) keeps the requests behind it waiting in the socket.
      Timestamp received = clock_.now();
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts{};
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          received = Timestamp::from_timespec(ts);
        }
      }
      const std::span<const uint8_t> request(in.data(), static_cast<size_t>(n));
      Misbehaviour mb;
      {
        const std::lock_guard lock(m_);
        ++log_.total_requests;
        if (log_.requests.size() < kMaxLogged) {
          conformance::Received r;
          r.bytes.assign(request.begin(), request.end());
          r.length = request.size();
          r.local_time = received;
          r.source = format_sockaddr(from, true);
          log_.requests.push_back(std::move(r));
        }
        if (quiet_ || ++served_ > kMaxRequestsServed) continue;
        mb = mb_;
      }
      RequestContext ctx;
      ctx.receive = received;
      ctx.random = random_ = random_ * 6364136223846793005ULL + 1442695040888963407ULL;
      const Action a = respond(request, ctx, clock_, state_, policy_, mb, out);
      if (!a.is_reply()) continue;
      if (a.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint32_t>(a.delay_ms, 2000)));
      const int via = a.from_other_port ? other_fd_ : fd_;
      for (uint8_t c = 0; c < a.copies; ++c) {
        (void)sendto(via, out.data(), a.length, 0, reinterpret_cast<const sockaddr*>(&from), flen);
        const std::lock_guard lock(m_);
        if (log_.replies.size() < kMaxLogged)
          log_.replies.push_back({{out.begin(), out.begin() + static_cast<long>(a.length)}, clock_.now()});
      }
    }
  }

  int fd_ = -1, other_fd_ = -1;
  uint16_t port_ = 0;
  std::mutex m_;  // guards what follows down to log_: the serving thread and the one running scenarios
  Misbehaviour mb_;
  bool quiet_ = false;
  size_t served_ = 0;  // requests answered under this misbehaviour: a flooding client is answered no further
  Log log_;
  ServerState state_;
  Policy policy_;
  SystemClock clock_;
  uint64_t random_ = 0x853c49e6748fea9bULL;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// --- A private network namespace (--netns) ---------------------------------------------------

// This process (and what it starts from now on) in a network namespace of its own, with its
// loopback up: the scenario server can take port 123 and the client finds it there, and nothing
// outside sees either. The error sentence, or empty.
std::string enter_private_netns() {
  if (unshare(CLONE_NEWNET) != 0) {
    return std::string("--netns: cannot make a network namespace (") + std::strerror(errno) +
           "): it needs root (CAP_SYS_ADMIN)";
  }
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags |= IFF_UP, true) &&
                  ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
  const int saved = errno;
  if (s >= 0) close(s);
  if (!up) return std::string("--netns: cannot bring the namespace's loopback up: ") + std::strerror(saved);
  return {};
}

// --- The client's run ------------------------------------------------------------------------

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// A client started: its process group's leader and the read end of its output, or why not.
struct Spawned {
  pid_t pid = -1;
  int output_fd = -1;
  std::string error;
};

// Starts `argv` in a process group of its own, stdout and stderr into one pipe, stdin from /dev/null.
Spawned spawn_client(const std::vector<std::string>& argv) {
  Spawned sp;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    sp.error = std::string("cannot make a pipe: ") + std::strerror(errno);
    return sp;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (err != 0) {
    close(pipefd[0]);
    sp.error = "cannot run " + argv.front() + ": " + std::strerror(err);
    return sp;
  }
  sp.pid = pid;
  sp.output_fd = pipefd[0];
  return sp;
}

// Anything not printable ASCII becomes '?' (tabs and newlines stay): the reports are UTF-8.
void sanitize(std::string& text) {
  for (char& c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80 || (b < 0x20 && b != '\n' && b != '\t')) c = '?';
  }
}

// Runs `argv` (spawn_client), keeping the first kMaxOutput bytes of its output; ends the group at `limit`.
ClientRun run_client(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  ClientRun run;
  const Spawned sp = spawn_client(argv);
  if (sp.pid < 0) {
    run.output = sp.error;
    return run;
  }
  const pid_t pid = sp.pid;
  const int out_fd = sp.output_fd;
  run.started = true;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool open = true, exited = false;
  int status = 0;
  std::array<char, 4096> buf{};
  // Until the client has exited and its output is read, but never past the deadline plus a second
  // for what is still in the pipe: a child left behind that keeps writing holds nothing up.
  while (!exited || open) {
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) exited = true;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !exited) {
      run.timed_out = true;
      kill(-pid, SIGTERM);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      exited = true;
    }
    if (left.count() < -1000) open = false;
    if (open) {
      pollfd p{out_fd, POLLIN, 0};
      const int wait_ms = exited ? 100 : static_cast<int>(std::clamp<int64_t>(left.count(), 1, 50));
      if (poll(&p, 1, wait_ms) > 0) {
        const ssize_t n = read(out_fd, buf.data(), buf.size());
        if (n <= 0) {
          open = false;
        } else if (run.output.size() < kMaxOutput) {
          run.output.append(buf.data(), std::min<size_t>(static_cast<size_t>(n), kMaxOutput - run.output.size()));
        }
      } else if (exited) {
        open = false;  // a grandchild holds the pipe: what came is what there is
      }
    } else if (!exited) {
      // Its output closed, the client runs on: wait for it without spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(left.count(), 1, 20)));
    }
  }
  kill(-pid, SIGKILL);  // whatever it left behind in its group ends with it
  close(out_fd);
  if (!run.timed_out && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.killed_by_signal = !run.timed_out && WIFSIGNALED(status);
  sanitize(run.output);
  return run;
}

// --daemon: a client started once, its output read on a thread of its own and kept with the time
// each piece came (the last kMaxDaemonOutput bytes), so that each scenario gets what the client
// printed while it was served.
class DaemonClient {
 public:
  ~DaemonClient() { stop(); }

  std::string start(const std::vector<std::string>& argv) {
    const Spawned sp = spawn_client(argv);
    if (sp.pid < 0) return sp.error;
    pid_ = sp.pid;
    fd_ = sp.output_fd;
    reader_ = std::thread([this] { read(); });
    return {};
  }

  // Whether it is still running; when not, how it ended ("exit N" or "signal N").
  std::optional<std::string> ended() {
    const std::lock_guard lock(m_);
    if (!ended_ && pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        ended_ = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      }
    }
    return ended_;
  }

  // Once it has ended: waits (at most `limit`) until what it wrote before has been read.
  void drain(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!eof_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // What it printed from `since` to now (up to kMaxOutput bytes, the first ones).
  std::string output_since(std::chrono::steady_clock::time_point since) {
    const std::lock_guard lock(m_);
    std::string out;
    for (const auto& [at, text] : pieces_) {
      if (at < since) continue;
      out.append(text, 0, std::min(text.size(), kMaxOutput - out.size()));
      if (out.size() >= kMaxOutput) break;
    }
    sanitize(out);
    return out;
  }

  // Ends its process group: SIGTERM, then SIGKILL after 200 ms.
  void stop() {
    if (pid_ > 0) {
      if (!ended()) {
        kill(-pid_, SIGTERM);
        for (int i = 0; i < 20 && !ended(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      kill(-pid_, SIGKILL);
      if (!ended()) waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    stop_ = true;
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  static constexpr size_t kMaxDaemonOutput = 1024 * 1024;

  void read() {
    std::array<char, 4096> buf{};
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n <= 0) {
        eof_ = true;
        break;
      }
      const std::lock_guard lock(m_);
      pieces_.emplace_back(std::chrono::steady_clock::now(), std::string(buf.data(), static_cast<size_t>(n)));
      kept_ += static_cast<size_t>(n);
      while (kept_ > kMaxDaemonOutput && !pieces_.empty()) {
        kept_ -= pieces_.front().second.size();
        pieces_.pop_front();
      }
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> eof_{false};  // its output closed: everything it wrote has been read
  std::thread reader_;
  std::mutex m_;
  std::optional<std::string> ended_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> pieces_;
  size_t kept_ = 0;
};

// --- Adapters: what a client's exit code and output mean -------------------------------------

// The first group of `pattern` in `text` as a number, if it matches.
std::optional<double> number_in(const std::string& text, const std::regex& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, pattern) || m.size() < 2) return std::nullopt;
  const std::string s = m[1].str();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// rdate -p prints the server's time to the second ("Mon Dec  7 19:24:26 UTC 2026"): the offset is
// that minus our clock when it ended, to a second.
std::optional<double> rdate_offset(const std::string& out, double ended_unix) {
  static const std::regex date(R"(([A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}) (UTC|GMT) (\d{4}))");
  std::smatch m;
  if (!std::regex_search(out, m, date)) return std::nullopt;
  std::tm tm{};
  const std::string text = m[1].str() + " " + m[3].str();
  if (strptime(text.c_str(), "%a %b %d %H:%M:%S %Y", &tm) == nullptr) return std::nullopt;
  return static_cast<double>(timegm(&tm)) - ended_unix;
}

struct Adapter {
  std::string_view name;
  std::string_view description;
  double resolution_s;  // of the offset it reads (0: as printed)
  bool daemon;          // runs until stopped: ended at --timeout is its normal end
  // Took the time?, and the offset it reports: from the exit code, the output, the end time.
  bool (*accepted)(const ClientRun&);
  std::optional<double> (*offset)(const ClientRun&, double ended_unix);
  std::string (*evidence)(const ClientRun&) = nullptr;  // the line that says so, when one does
  double relative_resolution = 0;                       // of an offset printed to a few significant digits
};

// chronyd's rawmeasurements log, one line per reply it received ("log rawmeasurements", its
// measurements.log made a FIFO that is read into the output): the columns are date, time,
// address, leap, stratum, RFC 5905 tests 1-3, tests 5-7 ("111 111": passed, the sample is
// used), chrony's own tests, local and remote poll, score, then the offset (theta).
struct ChronyMeasurement {
  std::string line;
  bool valid = false;  // tests 1-3 and 5-7 passed
  std::optional<double> offset;
};
std::vector<ChronyMeasurement> chrony_measurements(const std::string& out) {
  static const std::regex date(R"(\d{4}-\d\d-\d\d)");
  std::vector<ChronyMeasurement> found;
  size_t at = 0;
  while (at < out.size()) {
    const size_t nl = std::min(out.find('\n', at), out.size());
    const std::string line = out.substr(at, nl - at);
    at = nl + 1;
    std::vector<std::string> col;
    for (size_t i = 0; i < line.size();) {
      const size_t b = line.find_first_not_of(' ', i);
      if (b == std::string::npos) break;
      const size_t e = std::min(line.find(' ', b), line.size());
      col.push_back(line.substr(b, e - b));
      i = e;
    }
    if (col.size() < 12 || !std::regex_match(col[0], date) || col[5].size() != 3 || col[6].size() != 3) continue;
    ChronyMeasurement m;
    m.line = line;
    m.valid = col[5] == "111" && col[6] == "111";
    char* end = nullptr;
    const double v = std::strtod(col[11].c_str(), &end);
    if (end != col[11].c_str() && std::isfinite(v)) m.offset = v;
    found.push_back(std::move(m));
  }
  return found;
}

bool exit_zero(const ClientRun& r) {
  return r.exit_code == 0;
}

constexpr Adapter kAdapters[] = {
    {"generic", "exit 0 means the time was taken; --offset-regex reads the offset", 0, false, exit_zero, nullptr},
    {"chronyd", "chronyd -Q: \"System clock wrong by X seconds\" means taken, X the offset", 0, false,
     [](const ClientRun& r) { return r.output.find("System clock wrong by ") != std::string::npos; },
     [](const ClientRun& r, double) {
       static const std::regex re(R"(System clock wrong by ([-+0-9.e]+) seconds)");
       return number_in(r.output, re);
     }},
    {"check_ntp_time", "monitoring-plugins: \"Offset X secs\" (OK, WARNING or CRITICAL) means taken", 0, false,
     [](const ClientRun& r) {
       return r.exit_code >= 0 && r.exit_code <= 2 && r.output.find(" Offset ") != std::string::npos &&
              r.output.find("Offset unknown") == std::string::npos;
     },
     [](const ClientRun& r, double) {
       static const std::regex re(R"(Offset ([-+0-9.e]+) secs)");
       return number_in(r.output, re);
     }},
    {"rdate", "rdate -n -p: exit 0 and the server's date printed (to the second) means taken", 1, false, exit_zero,
     [](const ClientRun& r, double ended) { return rdate_offset(r.output, ended); }},
    {"ntpdig", "ntpsec's ntpdig -j: exit 0 and its JSON line's \"offset\"", 0, false,
     [](const ClientRun& r) { return r.exit_code == 0 && r.output.find("\"offset\":") != std::string::npos; },
     [](const ClientRun& r, double) {
       static const std::regex re(R"("offset":\s*([-+0-9.e]+))");
       return number_in(r.output, re);
     }},
    {"ntplib", "a python3-ntplib one-liner printing \"offset X\" (ntplib's NTPStats.offset)", 0, false, exit_zero,
     [](const ClientRun& r, double) {
       static const std::regex re(R"(offset ([-+0-9.e]+))");
       return number_in(r.output, re);
     }},
};

// systemd-timesyncd with SYSTEMD_LOG_LEVEL=debug on the console: a reply it takes is logged as
// "NTP response:" with "offset : X sec" and the adjustment it then asks for ("adjust (jump)" or
// "adjust (slew)"); one it refuses is not adjusted to.
bool timesyncd_took(const ClientRun& r) {
  return r.output.find("  adjust (") != std::string::npos;
}

constexpr Adapter kDaemonAdapters[] = {
    {"chronyd-daemon",
     "chronyd as a daemon client (-d -x, \"log rawmeasurements\" to a FIFO read into its output): a measurement "
     "that passed RFC 5905 tests 1-3 and 5-7 means taken, its offset the reported one",
     0, true,
     [](const ClientRun& r) {
       for (const auto& m : chrony_measurements(r.output)) {
         if (m.valid) return true;
       }
       return false;
     },
     [](const ClientRun& r, double) {
       std::optional<double> last;
       for (const auto& m : chrony_measurements(r.output)) {
         if (m.valid) last = m.offset;
       }
       return last;
     },
     [](const ClientRun& r) {
       std::string valid, any;
       for (const auto& m : chrony_measurements(r.output)) {
         any = m.line;
         if (m.valid) valid = m.line;
       }
       return valid.empty() ? any : valid;
     },
     5e-4},  // "%.3e"
    {"timesyncd", "systemd-timesyncd (a daemon, ended at --timeout): an adjustment logged means taken", 0, true,
     timesyncd_took,
     [](const ClientRun& r, double) {
       static const std::regex re(R"(offset\s+:\s*([-+0-9.]+) sec)");
       return number_in(r.output, re);
     }},
};

const Adapter* find_adapter(std::string_view name) {
  for (const auto& a : kDaemonAdapters) {
    if (a.name == name) return &a;
  }
  for (const auto& a : kAdapters) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// The adapter's reading of the run: accepted, and the offset when one can be read. A generic
// daemon (--daemon, --offset-regex) took the time when it printed a line the regex matches.
void read_run(const Adapter& adapter, const std::optional<std::regex>& offset, double ended_unix, ClientRun& run) {
  run.adapter = std::string(adapter.name);
  const bool by_regex = run.daemon && adapter.name == "generic" && offset;
  std::smatch m;
  run.accepted = run.started && (adapter.daemon || run.daemon || !run.timed_out) &&
                 (by_regex ? std::regex_search(run.output, m, *offset) : adapter.accepted(run));
  run.offset_resolution_s = adapter.resolution_s;
  if (adapter.evidence != nullptr) run.verdict_line = adapter.evidence(run);
  if (by_regex && run.accepted) {
    // The line of the match.
    const auto b = run.output.rfind('\n', static_cast<size_t>(m.position(0)));
    const auto e = run.output.find('\n', static_cast<size_t>(m.position(0)));
    run.verdict_line =
        run.output.substr(b == std::string::npos ? 0 : b + 1,
                          (e == std::string::npos ? run.output.size() : e) - (b == std::string::npos ? 0 : b + 1));
  }
  if (!run.accepted) return;
  if (offset) {
    run.offset_s = number_in(run.output, *offset);
  } else if (adapter.offset != nullptr) {
    run.offset_s = adapter.offset(run, ended_unix);
  }
  if (run.offset_s) run.offset_resolution_s += adapter.relative_resolution * std::fabs(*run.offset_s);
}

std::string quoted(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t'\"\\$`*?[]{}()<>|&;#~") == std::string::npos;
    out += plain ? a : "'" + replace_all(a, "'", "'\\''") + "'";
  }
  return out;
}

// The command line that runs one scenario again (the report puts the scenario's id for {id}).
std::string reproduce_line(const ClientTestOptions& o) {
  std::string how = "ntp-probe client-test";
  if (o.adapter != "generic") how += " --adapter " + o.adapter;
  if (!o.offset_regex.empty()) how += " --offset-regex " + quoted({o.offset_regex});
  if (o.daemon) how += " --daemon";
  if (o.netns) how += " --netns";
  if (o.listen != ClientTestOptions{}.listen) how += " --listen " + o.listen;
  std::array<char, 64> b{};
  if (o.timeout != ClientTestOptions{}.timeout) {
    std::snprintf(b.data(), b.size(), " -t %g", o.timeout);
    how += b.data();
  }
  if (o.tolerance != ClientTestOptions{}.tolerance) {
    std::snprintf(b.data(), b.size(), " --tolerance %g", o.tolerance);
    how += b.data();
  }
  if (o.strict) how += " --strict";
  return how + " --scenario {id} -v -- " + quoted(o.command);
}

}  // namespace

void setup_client_test(CLI::App& app, ClientTestOptions& o) {
  // The client's command line is everything after "--", its own options included: main() takes it
  // out before the options are parsed (split_client_command).
  std::string adapters;
  for (const auto& a : kAdapters) adapters += (adapters.empty() ? "" : ", ") + std::string(a.name);
  for (const auto& a : kDaemonAdapters) adapters += ", " + std::string(a.name);
  app.add_option("--adapter", o.adapter, "how to read the client's verdict: " + adapters)
      ->check(CLI::IsMember([] {
        std::vector<std::string> v;
        for (const auto& a : kAdapters) v.emplace_back(a.name);
        for (const auto& a : kDaemonAdapters) v.emplace_back(a.name);
        return v;
      }()))
      ->capture_default_str();
  app.add_option("--offset-regex", o.offset_regex,
                 "generic adapter: a regular expression whose first group is the offset the client prints, in "
                 "seconds (server minus client)");
  app.add_option("--scenario", o.scenarios, "run the scenarios whose id matches GLOB (repeatable; default: all)");
  app.add_option("--exclude", o.excludes, "leave out the scenarios whose id matches GLOB (repeatable)");
  app.add_option("-t,--timeout", o.timeout, "seconds each run of the client may take")
      ->check(CLI::Range(0.1, 600.0))
      ->capture_default_str();
  app.add_option("--tolerance", o.tolerance, "seconds the reported offset may differ from the served clock's")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--listen", o.listen, "the scenario server's address (a free UDP port is taken for each scenario)")
      ->capture_default_str();
  app.add_flag("--netns", o.netns,
               "run server and client in a private network namespace, the server on port 123 (for clients "
               "without a port option; needs root)");
  app.add_flag("--daemon", o.daemon,
               "start the client once and serve the scenarios one after another, each for --timeout seconds (a "
               "long-running client; needs a daemon adapter, or --offset-regex: a line it matches means taken)");
  app.add_flag("--list", o.list, "list the scenarios and run nothing");
  app.add_flag("--strict", o.strict, "SHOULD violations fail the run");
  app.add_flag("-v,--verbose", o.verbose, "all evidence for every scenario");
  add_output_options(app, o.out);
}

std::vector<std::string> split_client_command(int& argc, char** argv) {
  std::vector<std::string> command;
  int sub = 1;
  while (sub < argc && std::string_view(argv[sub]) != "client-test") ++sub;
  for (int i = sub + 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    for (int j = i + 1; j < argc; ++j) command.emplace_back(argv[j]);
    argc = i;
    break;
  }
  return command;
}

int run_client_test(const ClientTestOptions& o) {
  using namespace conformance;
  // A case runs when it is chosen (--scenario, all when none is given) and not left out
  // (--exclude); a request case also when the scenario it is judged on is. A scenario is served
  // when it runs, or a request case judged on it does.
  const auto chosen_id = [&](std::string_view id) {
    bool keep = o.scenarios.empty();
    for (const auto& g : o.scenarios) keep = keep || glob_match(g, id);
    return keep;
  };
  const auto excluded = [&](std::string_view id) {
    for (const auto& g : o.excludes) {
      if (glob_match(g, id)) return true;
    }
    return false;
  };
  const auto matches = [&](std::string_view id) { return chosen_id(id) && !excluded(id); };
  const auto request_case_runs = [&](const ClientRequestCase& rc) {
    return !excluded(rc.test->id) && (chosen_id(rc.test->id) || matches(rc.judged_on));
  };
  const auto selected = [&](std::string_view id) {
    if (matches(id)) return true;
    for (const auto& rc : client_request_cases()) {
      if (rc.judged_on == id && request_case_runs(rc)) return true;
    }
    return false;
  };
  if (o.list) {
    for (const auto& s : client_scenarios()) {
      std::string how;
      for (const auto& m : s.misbehaviours) how += (how.empty() ? "" : " ") + m;
      std::printf("%-36s %-6s %s §%s (%s)\n    %s\n", std::string(s.test->id).c_str(),
                  std::string(to_string(s.test->level)).c_str(), std::string(s.test->rfc).c_str(),
                  std::string(s.test->section).c_str(), how.empty() ? "a correct reply" : how.c_str(),
                  std::string(s.test->requirement).c_str());
    }
    for (const auto& r : client_request_cases()) {
      std::printf("%-36s %-6s %s §%s (judged on %s)\n    %s\n", std::string(r.test->id).c_str(),
                  std::string(to_string(r.test->level)).c_str(), std::string(r.test->rfc).c_str(),
                  std::string(r.test->section).c_str(), std::string(r.judged_on).c_str(),
                  std::string(r.test->requirement).c_str());
    }
    return 0;
  }
  if (o.command.empty()) {
    std::fprintf(stderr, "ntp-probe client-test: give the client after --, with {host} and {port} in it\n");
    return 2;
  }
  if (const std::string e = check_output(o.out); !e.empty()) {
    std::fprintf(stderr, "ntp-probe client-test: %s\n", e.c_str());
    return 2;
  }
  std::optional<std::regex> offset;
  if (!o.offset_regex.empty()) {
    try {
      offset.emplace(o.offset_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      std::fprintf(stderr, "ntp-probe client-test: --offset-regex: %s\n", e.what());
      return 2;
    }
    if (offset->mark_count() < 1) {
      std::fprintf(stderr,
                   "ntp-probe client-test: --offset-regex needs a group around the offset, as 'offset ([-+.0-9e]+)'\n");
      return 2;
    }
  }
  {
    in6_addr any6{};
    if (inet_pton(o.listen.find(':') != std::string::npos ? AF_INET6 : AF_INET, o.listen.c_str(), &any6) != 1) {
      std::fprintf(stderr, "ntp-probe client-test: --listen %s: not an IPv4 or IPv6 address\n", o.listen.c_str());
      return 2;
    }
  }
  size_t count = 0;
  for (const auto& s : client_scenarios()) count += selected(s.test->id) ? 1 : 0;
  if (count == 0) {
    std::fprintf(stderr, "ntp-probe client-test: no scenario matches --scenario/--exclude (see --list)\n");
    return 2;
  }
  if (o.daemon) {
    const Adapter& a = *find_adapter(o.adapter);
    if (!a.daemon && !(a.name == "generic" && !o.offset_regex.empty())) {
      std::fprintf(stderr,
                   "ntp-probe client-test: --daemon reads a running client's output: give a daemon adapter "
                   "(chronyd-daemon, timesyncd) or --offset-regex (a line it matches means the time was taken)\n");
      return 2;
    }
    if (static_cast<double>(count) * o.timeout > 3600) {
      std::fprintf(stderr,
                   "ntp-probe client-test: --daemon: %zu scenarios of %g s each is more than the hour a run may take; "
                   "choose fewer (--scenario) or a shorter --timeout\n",
                   count, o.timeout);
      return 2;
    }
  }

  // Before any thread: a namespace entered now is every later thread's and child's.
  if (o.netns) {
    if (const std::string e = enter_private_netns(); !e.empty()) {
      std::fprintf(stderr, "ntp-probe client-test: %s\n", e.c_str());
      return 3;
    }
  }
  Report report;
  report.suite = "client";
  report.target = quoted(o.command);
  report.address = o.listen;
  report.strict = o.strict;
  report.reproduce = reproduce_line(o);
  const auto started = std::chrono::steady_clock::now();
  const auto limit = std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000));
  const Adapter& adapter = *find_adapter(o.adapter);

  // The chosen scenarios, and the misbehaviour each is served with; for a daemon in the order
  // that keeps a client's state from spoiling the next (daemon_phase).
  std::vector<std::pair<const ClientScenario*, Misbehaviour>> chosen;
  for (const auto& s : client_scenarios()) {
    if (!selected(s.test->id)) continue;
    Misbehaviour mb;
    for (const auto& spec : s.misbehaviours) {
      if (auto r = add_misbehaviour(mb, spec); !r) {
        std::fprintf(stderr, "ntp-probe client-test: scenario %s: %s\n", std::string(s.test->id).c_str(),
                     r.error().c_str());
        return 3;
      }
    }
    chosen.emplace_back(&s, mb);
  }
  if (o.daemon) {
    std::stable_sort(chosen.begin(), chosen.end(),
                     [](const auto& x, const auto& y) { return x.first->daemon_phase < y.first->daemon_phase; });
  }
  const auto substituted = [&](uint16_t port) {
    std::vector<std::string> argv;
    for (const auto& a : o.command) {
      argv.push_back(replace_all(replace_all(a, "{host}", o.listen), "{port}", std::to_string(port)));
    }
    return argv;
  };
  // One scenario's verdict from what its server logged and the client's run.
  std::vector<std::pair<std::string_view, Observation>> runs;  // by scenario id, for the request cases
  const auto judge = [&](const ClientScenario& s, ScenarioServer::Log log, ClientRun run) {
    const double ended = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    read_run(adapter, offset, ended, run);
    Observation obs;
    obs.received = std::move(log.requests);
    obs.received_total = log.total_requests;
    obs.sent = std::move(log.replies);
    obs.client = std::move(run);
    JudgeContext ctx{
        SystemClock().now(),
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
    ctx.max_offset = Duration::from_nanoseconds(static_cast<int64_t>(o.tolerance * 1e9));
    ctx.expected_offset = Duration::from_nanoseconds(static_cast<int64_t>(s.offset_s * 1e9));
    Entry e;
    e.result = evaluate_client(*s.test, obs, ctx, o.strict);
    report.entries.push_back(std::move(e));
    runs.emplace_back(s.test->id, std::move(obs));
  };

  if (!o.daemon) {
    // A server and a run of the client for each scenario.
    for (const auto& [s, mb] : chosen) {
      ScenarioServer server;
      if (const std::string e = server.start(o.listen, o.netns ? 123 : 0, mb); !e.empty()) {
        std::fprintf(stderr, "ntp-probe client-test: %s\n", e.c_str());
        return 3;
      }
      const auto argv = substituted(server.port());
      ClientRun run = run_client(argv, limit);
      run.command = quoted(argv);
      server.stop();
      judge(*s, server.take(), std::move(run));
    }
  } else {
    // One server and one run of the client; each scenario served for --timeout seconds, its last
    // fifth (at most a second) unanswered so that no reply of it reaches the client in the next.
    ScenarioServer server;
    if (const std::string e = server.start(o.listen, o.netns ? 123 : 0, chosen.front().second); !e.empty()) {
      std::fprintf(stderr, "ntp-probe client-test: %s\n", e.c_str());
      return 3;
    }
    const auto argv = substituted(server.port());
    DaemonClient client;
    const std::string error = client.start(argv);
    const auto quiet_for = std::min(limit / 5, std::chrono::milliseconds(1000));
    for (const auto& [s, mb] : chosen) {
      const auto from = std::chrono::steady_clock::now();
      server.switch_to(mb);
      const auto quiet_at = from + limit - quiet_for;
      while (error.empty() && !client.ended() && std::chrono::steady_clock::now() < quiet_at)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      server.quiet();
      while (error.empty() && !client.ended() && std::chrono::steady_clock::now() < from + limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ClientRun run;
      run.command = quoted(argv);
      run.daemon = true;
      const auto ended = client.ended();
      if (ended) client.drain(std::chrono::milliseconds(500));  // what it printed before it ended
      run.started = error.empty() && !ended;
      run.output = error.empty() ? client.output_since(from) : error;
      // It ended before or during this scenario: how, and what it printed.
      if (ended) run.output = "it ended (" + *ended + ") before this scenario was over; it printed: " + run.output;
      judge(*s, server.take(), std::move(run));
    }
    client.stop();
    server.stop();
  }
  for (const auto& rc : client_request_cases()) {
    if (!request_case_runs(rc)) continue;
    for (const auto& [id, obs] : runs) {
      if (id != rc.judged_on) continue;
      const JudgeContext ctx{SystemClock().now(), 0};
      Entry e;
      e.result = evaluate_client(*rc.test, obs, ctx, o.strict);
      report.entries.push_back(std::move(e));
    }
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (!emit_report(report, o.out, o.verbose, "ntp-probe client-test")) return 3;
  return exit_code(report);
}

}  // namespace ntpkit::probe
