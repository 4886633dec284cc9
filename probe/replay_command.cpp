#include "replay_command.hpp"

#include <pcap/pcap.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "json_writer.hpp"
#include "ntpkit/frame.hpp"
#include "ntpkit/pcapng.hpp"
#include "ntpkit/replay.hpp"
#include "terminal.hpp"

namespace ntpkit::probe {

namespace {

struct FileResult {
  std::string name;
  std::string link_type;
  uint64_t frames = 0;
  uint64_t icmp_errors = 0;  // ICMP errors (they may quote NTP: not exchanges)
  uint64_t tcp_ntp = 0;      // TCP segments on an NTP port: not NTP exchanges
  uint64_t fragments_pending = 0;
  uint64_t fragments_given_up = 0;  // timed out, over the memory limit, or inconsistent
  uint64_t truncated_frames = 0;
  std::string error;         // unreadable or damaged, with the byte offset
  replay::Stats stats;
  std::vector<replay::Finding> findings;
};

bool must_broken(const FileResult& f) {
  for (const auto& x : f.findings) {
    if (x.rule->level == conformance::Level::Must) return true;
  }
  return false;
}

// Decodes frames and feeds the NTP datagrams to the analyzer.
struct Sink {
  FileResult& r;
  const std::set<uint16_t>& ports;
  net::FrameDecoder decoder;
  replay::Analyzer analyzer;

  void frame(uint32_t linktype, std::span<const uint8_t> bytes, int64_t time_ns) {
    ++r.frames;
    const auto f = decoder.decode(linktype, bytes, time_ns);
    using Kind = net::DecodedFrame::Kind;
    if (f.kind == Kind::Truncated) ++r.truncated_frames;
    if (f.kind == Kind::IcmpError) ++r.icmp_errors;
    const bool ntp_port = ports.count(f.source.port) != 0 || ports.count(f.destination.port) != 0;
    if (f.kind == Kind::Tcp && ntp_port) ++r.tcp_ntp;
    if (f.kind != Kind::Udp || !ntp_port) return;
    analyzer.add({r.frames, time_ns, f.source, f.destination, f.payload});
  }
  void finish() {
    analyzer.finish();
    r.fragments_pending = decoder.fragments_pending();
    r.fragments_given_up = decoder.fragments_evicted();
    r.stats = analyzer.stats();
    r.findings = analyzer.findings();
  }
};

// libpcap reads .pcap and .pcapng (and standard input). Returns false with r.error set when it
// could not read the file to its end.
void read_with_libpcap(const std::string& path, Sink& sink) {
  FileResult& r = sink.r;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw = path == "-" ? pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_NANO, errbuf)
                            : pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (raw == nullptr) {
    r.error = std::string("cannot read the capture: ") + errbuf;
    return;
  }
  std::unique_ptr<pcap_t, decltype(&pcap_close)> p(raw, pcap_close);
  const auto linktype = static_cast<uint32_t>(pcap_datalink(p.get()));
  r.link_type = std::string(net::name(linktype));
  if (!net::is_supported(linktype)) {
    const char* dlt = pcap_datalink_val_to_name(pcap_datalink(p.get()));
    r.error = "link type " + std::to_string(linktype) + " (" + (dlt != nullptr ? dlt : "?") + ") is not supported";
    return;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  for (;;) {
    const int rc = pcap_next_ex(p.get(), &h, &data);
    if (rc == PCAP_ERROR_BREAK) return;  // end of file
    if (rc != 1) {
      // A damaged or truncated file: say where, keep what was read.
      const long offset = path == "-" ? -1 : std::ftell(pcap_file(p.get()));
      r.error = "damaged after frame " + std::to_string(r.frames) +
                (offset >= 0 ? " (byte offset " + std::to_string(offset) + ")" : "") + ": " + pcap_geterr(p.get());
      return;
    }
    // Nanosecond precision was asked for: tv_usec holds nanoseconds.
    sink.frame(linktype, {data, h->caplen}, static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec);
  }
}

// pcapng whose interfaces have different link types, which libpcap 1.10 refuses: read block
// by block with lib/'s pcapng decoder.
void read_pcapng(const std::string& path, Sink& sink) {
  FileResult& r = sink.r;
  std::ifstream in(path, std::ios::binary);
  pcapng::Reader reader;
  std::vector<uint8_t> block;
  std::set<uint32_t> link_types;
  uint64_t offset = 0;
  for (;;) {
    block.resize(12);
    in.read(reinterpret_cast<char*>(block.data()), 12);
    if (in.gcount() == 0) break;
    const auto fail = [&](const std::string& what) {
      r.error = "damaged after frame " + std::to_string(r.frames) + " (byte offset " + std::to_string(offset) + "): " + what;
    };
    if (in.gcount() < 12) return fail("the file ends inside a block header");
    auto start = reader.start(block);
    if (!start) return fail(start.error());
    if (start->total_length > (64u << 20)) return fail("a block of " + std::to_string(start->total_length) + " bytes");
    block.resize(start->total_length);
    in.read(reinterpret_cast<char*>(block.data() + 12), static_cast<std::streamsize>(start->total_length - 12));
    if (static_cast<uint64_t>(in.gcount()) < start->total_length - 12) return fail("the file ends inside a block");
    auto packet = reader.block(block);
    if (!packet) return fail(packet.error());
    offset += start->total_length;
    if (!*packet) continue;
    const uint32_t linktype = reader.interfaces()[(*packet)->interface].link_type;
    link_types.insert(linktype);
    if (!net::is_supported(linktype)) continue;  // frames of an interface we cannot decode
    sink.frame(linktype, (*packet)->data, (*packet)->time_ns);
  }
  r.link_type.clear();
  for (uint32_t t : link_types) r.link_type += (r.link_type.empty() ? "" : " + ") + std::string(net::name(t));
}

FileResult analyse(const std::string& path, const std::set<uint16_t>& ports) {
  FileResult r;
  r.name = path;
  {
    Sink sink{r, ports, net::FrameDecoder{}, replay::Analyzer{}};
    read_with_libpcap(path, sink);
    if (r.error.find("different from the type of the first interface") == std::string::npos) {
      sink.finish();
      return r;
    }
  }
  r = FileResult{};
  r.name = path;
  Sink sink{r, ports, net::FrameDecoder{}, replay::Analyzer{}};
  read_pcapng(path, sink);
  sink.finish();
  return r;
}

std::string text_report(const FileResult& f, unsigned max_listed, bool colour) {
  const auto& s = f.stats;
  std::string out = f.name + ": " + f.link_type + ", " + std::to_string(f.frames) + " frames, " +
                    std::to_string(s.datagrams) + " NTP datagrams\n";
  if (!f.error.empty()) out += "  " + paint("error", Colour::Red, colour) + ": " + f.error + "\n";
  out += "  exchanges " + std::to_string(s.exchanges) + " (" + std::to_string(s.requests) + " requests, " +
         std::to_string(s.replies) + " replies), unanswered " + std::to_string(s.unanswered) + ", unsolicited replies " +
         std::to_string(s.unsolicited) + ", replies before their request " + std::to_string(s.replies_before_request) +
         ", paired by flow (origin matched no request) " + std::to_string(s.paired_by_fallback) + ", retransmissions " +
         std::to_string(s.retransmissions) + ", duplicate replies " + std::to_string(s.duplicate_replies) +
         ", malformed " + std::to_string(s.malformed) + "\n";
  if (s.symmetric_packets > 0) {
    out += "  symmetric (modes 1/2): " + std::to_string(s.symmetric_packets) + " packets, " +
           std::to_string(s.symmetric_checks) + " origin checks, " + std::to_string(s.symmetric_failures) + " failed\n";
  }
  for (auto [label, t] : {std::pair{"mode 6 (control)", &s.mode6}, std::pair{"mode 7 (private)", &s.mode7}}) {
    if (t->requests + t->responses == 0) continue;
    const bool both = t->request_bytes > 0 && t->responses > 0;
    std::array<char, 64> amp{};
    std::snprintf(amp.data(), amp.size(), "%.2f", t->request_bytes == 0 ? 0.0 : double(t->response_bytes) / double(t->request_bytes));
    out += std::string("  ") + label + ": " + std::to_string(t->requests) + " requests (" +
           std::to_string(t->request_bytes) + " bytes), " + std::to_string(t->responses) + " responses (" +
           std::to_string(t->response_bytes) + " bytes)" +
           (both ? ", amplification x" + std::string(amp.data()) + " in bytes" : "") + "\n";
  }
  if (s.broadcast > 0) out += "  broadcast (mode 5): " + std::to_string(s.broadcast) + " packets\n";
  if (f.icmp_errors + f.tcp_ntp > 0) {
    out += "  not exchanges: " + std::to_string(f.icmp_errors) + " ICMP errors (which may quote NTP), " +
           std::to_string(f.tcp_ntp) + " TCP segments on an NTP port\n";
  }
  if (f.fragments_pending + f.fragments_given_up > 0) {
    out += "  fragmented datagrams never completed: " + std::to_string(f.fragments_pending) + ", given up (timed out, " +
           "over the memory limit or inconsistent): " + std::to_string(f.fragments_given_up) + "\n";
  }
  std::map<std::string_view, size_t> per_rule;
  for (const auto& x : f.findings) {
    const size_t n = ++per_rule[x.rule->id];
    if (n > max_listed) continue;
    const bool must = x.rule->level == conformance::Level::Must;
    out += "  " + paint(must ? "FAIL" : "WARN", must ? Colour::Red : Colour::Yellow, colour) + " " + std::string(x.rule->id) +
           " " + std::string(conformance::to_string(x.rule->level)) + " frames " +
           (x.request_frame != 0 ? std::to_string(x.request_frame) : "-") + " -> " +
           (x.reply_frame != 0 ? std::to_string(x.reply_frame) : "-") + ", client " + x.client.to_string() + ", server " +
           x.server.to_string() + "\n      expected: " + x.expected + "\n      actual:   " + x.actual + "\n";
  }
  for (const auto& [id, n] : per_rule) {
    if (n > max_listed) out += "  ... " + std::to_string(n - max_listed) + " more " + std::string(id) + "\n";
  }
  out += "  findings: " + std::to_string(f.findings.size());
  for (const auto& [id, n] : per_rule) out += ", " + std::string(id) + " " + std::to_string(n);
  out += "\n";
  if (!s.servers.empty()) {
    out += "  servers:";
    for (const auto& [addr, sv] : s.servers) {
      out += " " + addr + " (" + std::to_string(sv.exchanges) + " exchanges, " + std::to_string(sv.findings) + " findings)";
    }
    out += "\n";
  }
  return out;
}

void json_file(JsonWriter& j, const FileResult& f) {
  const auto& s = f.stats;
  j.begin_object();
  j.key("file").value(f.name);
  j.key("link_type").value(f.link_type);
  j.key("frames").value(f.frames);
  if (!f.error.empty()) j.key("error").value(f.error);
  j.key("ntp_datagrams").value(s.datagrams);
  j.key("requests").value(s.requests);
  j.key("replies").value(s.replies);
  j.key("exchanges").value(s.exchanges);
  j.key("unanswered").value(s.unanswered);
  j.key("unsolicited").value(s.unsolicited);
  j.key("replies_before_request").value(s.replies_before_request);
  j.key("paired_by_flow").value(s.paired_by_fallback);
  j.key("retransmissions").value(s.retransmissions);
  j.key("duplicate_replies").value(s.duplicate_replies);
  j.key("malformed").value(s.malformed);
  j.key("symmetric").begin_object();
  j.key("packets").value(s.symmetric_packets);
  j.key("origin_checks").value(s.symmetric_checks);
  j.key("origin_failures").value(s.symmetric_failures);
  j.end_object();
  for (auto [label, t] : {std::pair{"mode6", &s.mode6}, std::pair{"mode7", &s.mode7}}) {
    j.key(label).begin_object();
    j.key("requests").value(t->requests);
    j.key("request_bytes").value(t->request_bytes);
    j.key("responses").value(t->responses);
    j.key("response_bytes").value(t->response_bytes);
    j.end_object();
  }
  j.key("broadcast").value(s.broadcast);
  j.key("icmp_errors").value(f.icmp_errors);
  j.key("tcp_on_ntp_port").value(f.tcp_ntp);
  j.key("fragments_pending").value(f.fragments_pending);
  j.key("fragments_given_up").value(f.fragments_given_up);
  j.key("findings").begin_array();
  for (const auto& x : f.findings) {
    j.begin_object();
    j.key("rule").value(x.rule->id);
    j.key("level").value(conformance::to_string(x.rule->level));
    j.key("citation").value(std::string(x.rule->rfc) + " §" + std::string(x.rule->section));
    if (x.request_frame != 0) j.key("request_frame").value(x.request_frame);
    if (x.reply_frame != 0) j.key("reply_frame").value(x.reply_frame);
    j.key("client").value(x.client.to_string());
    j.key("server").value(x.server.to_string());
    j.key("expected").value(x.expected);
    j.key("actual").value(x.actual);
    j.end_object();
  }
  j.end_array();
  j.key("servers").begin_object();
  for (const auto& [addr, sv] : s.servers) {
    j.key(addr).begin_object();
    j.key("exchanges").value(sv.exchanges);
    j.key("findings").value(sv.findings);
    j.end_object();
  }
  j.end_object();
  j.end_object();
}

std::string xml_escape(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += static_cast<unsigned char>(c) < 0x20 && c != '\n' ? '?' : c;
    }
  }
  return out;
}

std::string finding_line(const replay::Finding& x) {
  return "frames " + (x.request_frame != 0 ? std::to_string(x.request_frame) : std::string("-")) + " -> " +
         (x.reply_frame != 0 ? std::to_string(x.reply_frame) : std::string("-")) + ", client " + x.client.to_string() +
         ", server " + x.server.to_string() + ": expected " + x.expected + "; actual " + x.actual;
}

// Every rule is a test case of every file: a MUST with findings fails, a SHOULD warns.
std::string junit_report(const std::vector<FileResult>& results) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ntp-probe replay\">\n";
  for (const auto& f : results) {
    std::map<std::string_view, std::vector<const replay::Finding*>> by_rule;
    for (const auto& x : f.findings) by_rule[x.rule->id].push_back(&x);
    size_t failures = 0;
    for (const auto& rule : replay::rules()) {
      if (rule.level == conformance::Level::Must && by_rule.count(rule.id) != 0) ++failures;
    }
    out += "  <testsuite name=\"" + xml_escape(f.name) + "\" tests=\"" + std::to_string(replay::rules().size()) +
           "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + (f.error.empty() ? "0" : "1") + "\">\n";
    if (!f.error.empty()) {
      out += "    <testcase classname=\"replay\" name=\"read\"><error message=\"" + xml_escape(f.error) + "\"/></testcase>\n";
    }
    for (const auto& rule : replay::rules()) {
      out += "    <testcase classname=\"replay\" name=\"" + std::string(rule.id) + "\">";
      if (auto it = by_rule.find(rule.id); it != by_rule.end()) {
        std::string text;
        for (const auto* x : it->second) text += finding_line(*x) + "\n";
        const std::string msg = std::to_string(it->second.size()) + " finding(s): " + std::string(rule.requirement);
        if (rule.level == conformance::Level::Must) {
          out += "<failure message=\"" + xml_escape(msg) + "\" type=\"MUST\">" + xml_escape(text) + "</failure>";
        } else {
          out += "<system-out>" + xml_escape(msg + "\n" + text) + "</system-out>";
        }
      }
      out += "</testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string tap_report(const std::vector<FileResult>& results) {
  std::string body;
  size_t n = 0;
  for (const auto& f : results) {
    if (!f.error.empty()) body += "not ok " + std::to_string(++n) + " - " + f.name + ": read\n  ---\n  message: \"" + f.error + "\"\n  ...\n";
    for (const auto& rule : replay::rules()) {
      std::vector<const replay::Finding*> found;
      for (const auto& x : f.findings) {
        if (x.rule == &rule) found.push_back(&x);
      }
      const bool must = rule.level == conformance::Level::Must;
      body += std::string(found.empty() || !must ? "ok " : "not ok ") + std::to_string(++n) + " - " + f.name + ": " +
              std::string(rule.id) + (found.empty() || must ? "" : " # TODO SHOULD not met") + "\n";
      if (!found.empty()) {
        body += "  ---\n  findings: " + std::to_string(found.size()) + "\n  first: \"" + finding_line(*found.front()) + "\"\n  ...\n";
      }
    }
  }
  return "TAP version 13\n1.." + std::to_string(n) + "\n" + body;
}

}  // namespace

void setup_replay(CLI::App& app, ReplayOptions& o) {
  app.add_option("files", o.files, "pcap or pcapng files ('-' for standard input)")->required();
  app.add_option("--port", o.ports, "another UDP port that carries NTP (repeatable; 123 always does)")
      ->allow_extra_args(false)
      ->check(CLI::Range(1U, 65535U));
  app.add_option("--format", o.format, "text, json, junit or tap")
      ->check(CLI::IsMember({"text", "json", "junit", "tap"}))
      ->capture_default_str();
  app.add_option("--json", o.json_file, "also write the JSON report to FILE");
  app.add_option("--max-listed", o.max_listed, "findings listed per rule in the text report")->capture_default_str();
  app.add_option("--color", o.colour, "auto, always or never")->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
}

int run_replay(const ReplayOptions& o) {
  std::set<uint16_t> ports = {123};
  for (unsigned p : o.ports) ports.insert(static_cast<uint16_t>(p));
  const bool colour = o.colour == "always" || (o.colour == "auto" && use_colour(stdout));
  std::vector<FileResult> results;
  for (const auto& f : o.files) {
    results.push_back(analyse(f, ports));
    if (!results.back().error.empty()) {
      std::fprintf(stderr, "ntp-probe replay: %s: %s\n", f.c_str(), results.back().error.c_str());
    }
    if (o.format == "text") {
      const std::string text = text_report(results.back(), o.max_listed, colour);
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  }
  int code = 0;
  for (const auto& r : results) {
    if (must_broken(r)) code = std::max(code, 1);
  }
  for (const auto& r : results) {
    if (!r.error.empty()) code = 3;
  }
  if (o.format == "junit") std::fputs(junit_report(results).c_str(), stdout);
  if (o.format == "tap") std::fputs(tap_report(results).c_str(), stdout);
  if (o.format == "json" || !o.json_file.empty()) {
    JsonWriter j;
    j.begin_object();
    j.key("exit_code").value(code);
    j.key("files").begin_array();
    for (const auto& r : results) json_file(j, r);
    j.end_array();
    j.end_object();
    if (o.format == "json") std::printf("%s\n", j.str().c_str());
    if (!o.json_file.empty()) {
      std::ofstream out(o.json_file, std::ios::trunc);
      out << j.str() << "\n";
      if (!out) {
        std::fprintf(stderr, "ntp-probe replay: cannot write %s\n", o.json_file.c_str());
        return 3;
      }
    }
  }
  return code;
}

}  // namespace ntpkit::probe
