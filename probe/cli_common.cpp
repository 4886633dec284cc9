#include "cli_common.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "ntpkit/crypto/key_file.hpp"
#include "terminal.hpp"

namespace ntpkit::probe {

void add_output_options(CLI::App& app, OutputOptions& o, const std::vector<std::string>& extra) {
  std::vector<std::string> formats = {"text", "json", "junit", "tap"};
  formats.insert(formats.end(), extra.begin(), extra.end());
  std::string help = "report on stdout as ";
  for (size_t i = 0; i < formats.size(); ++i) {
    help += (i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ") + formats[i];
  }
  for (const auto& f : extra) {
    if (f == "prometheus")
      help += "; prometheus: gauges in the text exposition format (node_exporter's textfile collector)";
    if (f == "jsonl") help += "; jsonl: JSON Lines, one object a target as each finishes";
  }
  app.add_option("--format", o.format, help)->check(CLI::IsMember(formats))->capture_default_str();
  app.add_option("--json", o.json_file, "also write the JSON report to FILE");
  app.add_option("--junit", o.junit_file, "also write a JUnit XML report to FILE");
  app.add_option("--color", o.colour, "auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

std::string check_writable(const std::string& flag, const std::string& path) {
  if (path.empty()) return {};
  if (path == "-") return flag + " -: give a file (the report on stdout is --format)";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return flag + " " + path + ": is a directory";
  if (fs::exists(p, ec)) {
    if (access(path.c_str(), W_OK) != 0) return flag + " " + path + ": cannot write it (" + std::strerror(errno) + ")";
    return {};
  }
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) return flag + " " + path + ": no such directory " + dir.string();
  if (access(dir.c_str(), W_OK) != 0) {
    return flag + " " + path + ": cannot create it in " + dir.string() + " (" + std::strerror(errno) + ")";
  }
  return {};
}

std::string check_output(const OutputOptions& o) {
  if (auto e = check_writable("--json", o.json_file); !e.empty()) return e;
  if (auto e = check_writable("--junit", o.junit_file); !e.empty()) return e;
  if (!o.json_file.empty() && o.json_file == o.junit_file) return "--json and --junit name the same file";
  return {};
}

bool colour_on(const OutputOptions& o, FILE* f) {
  return o.format == "text" && (o.colour == "always" || (o.colour == "auto" && use_colour(f)));
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  return static_cast<bool>(f);
}

void add_key_options(CLI::App& app, KeyOptions& o) {
  auto* keys = app.add_option("--keys", o.file, "symmetric keys (ntp.keys or chrony keyfile) to authenticate with");
  app.add_option("--key-id", o.key_id, "the key requests are authenticated with (with --keys)")
      ->check(CLI::Range(1U, 0xFFFFFFFFU))
      ->needs(keys);
  app.add_option("--key-format", o.format, "the --keys file's format: auto, ntp (ntpsec/ntp.org) or chrony")
      ->check(CLI::IsMember({"auto", "ntp", "chrony"}))
      ->capture_default_str()
      ->needs(keys);
}

Result<std::optional<LoadedKeys>, std::string> load_keys(const KeyOptions& o) {
  if (o.file.empty()) return std::optional<LoadedKeys>{};
  if (o.key_id == 0) return Failure{std::string("--keys needs --key-id: the key requests are authenticated with")};
  auto file = crypto::load_key_file(o.file, o.format);
  if (!file) return Failure{file.error()};
  LoadedKeys loaded;
  loaded.store = file->store;
  loaded.digests = file->digests;
  loaded.key = loaded.store->find(o.key_id);
  if (loaded.key == nullptr) return Failure{"--key-id " + std::to_string(o.key_id) + ": no such key in " + o.file};
  return std::optional<LoadedKeys>{std::move(loaded)};
}

bool emit_reports(const OutputOptions& out, std::string_view program, const std::string& json,
                  const std::vector<TestSuite>& suites) {
  const std::string tool(program);
  const std::string body = json.empty() || json.back() != '\n' ? json + "\n" : json;
  if (out.format == "json") std::fputs(body.c_str(), stdout);
  if (out.format == "junit") std::fputs(junit_xml(tool, suites).c_str(), stdout);
  if (out.format == "tap") std::fputs(tap(suites).c_str(), stdout);
  bool ok = true;
  const auto save = [&](const std::string& file, const std::string& text) {
    if (file.empty() || write_file(file, text)) return;
    std::fprintf(stderr, "%s: cannot write %s\n", tool.c_str(), file.c_str());
    ok = false;
  };
  save(out.json_file, body);
  if (!out.junit_file.empty()) save(out.junit_file, junit_xml(tool, suites));
  return ok;
}

const CLI::Validator& finite() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        // The range check beside this one compares numbers; NaN passes every comparison.
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || !std::isfinite(d)) return "give a finite number, not " + s;
        return {};
      },
      "");
  return v;
}

}  // namespace ntpkit::probe
