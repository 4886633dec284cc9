#include "ntpkit/conformance/suite.hpp"

#include <algorithm>
#include <array>

namespace ntpkit::conformance {
namespace {

void append(std::vector<const Case*>& out, std::span<const Case> cases) {
  for (const auto& c : cases) out.push_back(&c);
}

const std::vector<Suite>& suites() {
  static const std::vector<Suite> s = [] {
    auto make = [](std::string_view name, std::string_view title,
                   std::initializer_list<std::span<const Case> (*)()> sections) {
      Suite suite{name, title, {}};
      for (auto section : sections) append(suite.cases, section());
      return suite;
    };
    std::vector<Suite> list = {
        make("rfc5905",
             "RFC 5905 server behaviour: exchange, header, versions, modes, framing, extension fields, requests",
             {rfc5905_exchange_cases, rfc5905_header_cases, rfc5905_version_cases, rfc5905_mode_cases,
              rfc5905_framing_cases, rfc7822_extension_cases, rfc5905_request_cases}),
        make("rfc4330", "RFC 4330 §6: SNTP server operations", {rfc4330_server_cases}),
        make("rfc7822", "RFC 7822: extension fields", {rfc7822_extension_cases}),
        make("security", "amplification (modes 6 and 7), CVE-2015-7871, kiss-o'-death origin, replayed requests",
             {security_cases}),
        make("ratelimit", "opt-in: a burst of requests, and how the excess is treated", {ratelimit_cases}),
        make("interleaved",
             "opt-in: RFC 9769 interleaved mode, in exchanges that follow one another (run after the others)",
             {interleaved_cases}),
        make("auth", "symmetric-key authentication (RFC 5905 MAC, RFC 8573 AES-CMAC): needs --keys and --key-id",
             {auth_cases}),
        make("nts-ke", "NTS key establishment (RFC 8915 §3, §4): needs --nts HOST[:KE-PORT]", {nts_ke_cases}),
        make("nts", "NTS-protected NTP (RFC 8915 §5): needs --nts HOST[:KE-PORT]", {nts_cases}),
    };
    // "all": every case once, in suite order.
    Suite all{"all", "every case of every suite", {}};
    for (const auto& suite : list) {
      for (const Case* c : suite.cases) {
        if (std::find(all.cases.begin(), all.cases.end(), c) == all.cases.end()) all.cases.push_back(c);
      }
    }
    list.push_back(std::move(all));
    return list;
  }();
  return s;
}

}  // namespace

std::vector<std::string_view> suite_names() {
  std::vector<std::string_view> out;
  for (const auto& s : suites()) out.push_back(s.name);
  return out;
}

const Suite* find_suite(std::string_view name) {
  for (const auto& s : suites()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<const Case*> all_cases() {
  return find_suite("all")->cases;
}

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with backtracking to the last '*'.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace ntpkit::conformance
