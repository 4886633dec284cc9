// Starts one of our binaries for an end-to-end test, reads its output with timeouts, and ends
// it by PID. Nothing here waits without a bound.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ntpkit::test {

class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  [[nodiscard]] bool started() const { return pid_ > 0; }
  [[nodiscard]] pid_t pid() const { return pid_; }

  // The next line of standard output, or nullopt after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) { return line_from(out_, out_buf_, timeout); }
  std::optional<std::string> read_error_line(std::chrono::milliseconds timeout) {
    return line_from(err_, err_buf_, timeout);
  }

  void signal(int sig) const { kill(pid_, sig); }

  // Exit code (128 + signal when killed by one), or nullopt if it did not end within `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  // Like wait(), and the process's peak resident set size in KiB (its rusage, from wait4).
  std::optional<int> wait_with_peak_rss(std::chrono::milliseconds timeout, long& peak_kib) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      rusage ru{};
      if (wait4(pid_, &status, WNOHANG, &ru) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        peak_kib = ru.ru_maxrss;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  // Everything left on standard output once the process has ended (bounded by `timeout`).
  std::string drain_output(std::chrono::milliseconds timeout) {
    std::string all;
    while (auto l = read_line(timeout)) all += *l + "\n";
    return all + out_buf_;
  }

 private:
  static std::optional<std::string> line_from(int fd, std::string& buf, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto nl = buf.find('\n'); nl != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[512];
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buf.append(chunk, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_buf_;
  std::string err_buf_;
  std::optional<int> exit_code_;
};

// Runs a command to completion (bounded) and returns its exit code, standard output and
// standard error (read once standard output has closed: fine for the few lines our tools write).
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
inline RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ChildProcess p(argv);
  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (auto line = p.read_line(
             std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
    r.out += *line + "\n";
  }
  while (auto line = p.read_error_line(std::chrono::milliseconds(200))) r.err += *line + "\n";
  r.exit_code = p.wait(std::chrono::milliseconds(2000)).value_or(-1);
  return r;
}

// ntp-server on an ephemeral loopback port (NTP_SERVER_BIN, which the including test defines),
// with `extra` options; `port` is empty when it did not start. Ended by PID with the object.
#ifdef NTP_SERVER_BIN
struct RunningServer {
  explicit RunningServer(const std::vector<std::string>& extra)
      : proc([&] {
          std::vector<std::string> argv = {NTP_SERVER_BIN, "--listen", "127.0.0.1:0"};
          argv.insert(argv.end(), extra.begin(), extra.end());
          return ChildProcess(argv);
        }()) {
    const auto line = proc.read_line(std::chrono::milliseconds(5000)).value_or("");
    const auto colon = line.rfind(':');
    if (line.rfind("NTP server listening on", 0) == 0 && colon != std::string::npos) port = line.substr(colon + 1);
  }
  ChildProcess proc;
  std::string port;
};
#endif

}  // namespace ntpkit::test
