#include "capture_analysis.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "ntpkit/frame.hpp"
#include "ntpkit/pcapng.hpp"

namespace ntpkit::probe {
namespace {

// Decodes frames and feeds the NTP datagrams to the analyzer.
struct Sink {
  FileResult& r;
  const std::bitset<65536>& ports;
  const DatagramTap& tap;
  const Progress& progress;
  net::FrameDecoder decoder;
  replay::Analyzer analyzer;

  void frame(uint32_t linktype, std::span<const uint8_t> bytes, int64_t time_ns) {
    ++r.frames;
    const auto f = decoder.decode(linktype, bytes, time_ns);
    using Kind = net::DecodedFrame::Kind;
    if (f.kind == Kind::Truncated) ++r.truncated_frames;
    if (f.kind == Kind::IcmpError) ++r.icmp_errors;
    const bool ntp_port = ports.test(f.source.port) || ports.test(f.destination.port);
    if (f.kind == Kind::Tcp && ntp_port) ++r.tcp_ntp;
    if (f.kind != Kind::Udp || !ntp_port) return;
    const replay::Datagram d{r.frames, time_ns, f.source, f.destination, f.payload};
    analyzer.add(d);
    if (tap) tap(d);
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
// `file` is handed to libpcap, which closes it. `seekable` says whether ftell means anything.
void read_with_libpcap(FILE* file, bool seekable, Sink& sink) {
  FileResult& r = sink.r;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (file == nullptr) {
    r.error = std::string("cannot read the capture: ") + std::strerror(errno);
    return;
  }
  pcap_t* raw = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (raw == nullptr) {
    std::fclose(file);
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
  // pcap_dispatch reads the whole file in one call, handing each record to a callback: the loop
  // stays inside libpcap, instead of a pcap_next_ex call (and its own dispatch of one record) per
  // frame.
  struct Loop {
    Sink& sink;
    pcap_t* p;
    uint32_t linktype;
    bool seekable;
  } loop{sink, p.get(), linktype, seekable};
  const auto on_record = [](u_char* user, const pcap_pkthdr* h, const u_char* data) {
    Loop& l = *reinterpret_cast<Loop*>(user);
    // Nanosecond precision was asked for: tv_usec holds nanoseconds.
    // Clamped (about 1843 to 2096) so that no difference of two capture times overflows.
    const int64_t secs = std::clamp<int64_t>(h->ts.tv_sec, -4'000'000'000, 4'000'000'000);
    l.sink.frame(l.linktype, {data, h->caplen}, secs * 1'000'000'000 + h->ts.tv_usec);
    if (l.sink.progress && (l.sink.r.frames & 0xFFFF) == 0 && l.seekable) {
      l.sink.progress(static_cast<uint64_t>(std::ftell(pcap_file(l.p))));
    }
  };
  // A count of -1 reads a savefile to its end, but at most INT_MAX records a call: called again
  // until it reads none (the end of the file) or fails (PCAP_ERROR).
  int rc = 0;
  do {
    rc = pcap_dispatch(p.get(), -1, on_record, reinterpret_cast<u_char*>(&loop));
  } while (rc > 0);
  if (rc == 0) return;
  // A damaged or truncated file: say where, keep what was read.
  const long offset = seekable ? std::ftell(pcap_file(p.get())) : -1;
  r.error = "damaged after frame " + std::to_string(r.frames) +
            (offset >= 0 ? " (byte offset " + std::to_string(offset) + ")" : "") + ": " + pcap_geterr(p.get());
}

// pcapng whose interfaces have different link types, which libpcap 1.10 refuses: read block
// by block with lib/'s pcapng decoder.
void read_pcapng(std::istream& in, Sink& sink) {
  FileResult& r = sink.r;
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
    if (sink.progress && (r.frames & 0xFFFF) == 0) sink.progress(offset);
    if (!*packet) continue;
    const uint32_t linktype = reader.interfaces()[(*packet)->interface].link_type;
    link_types.insert(linktype);
    if (!net::is_supported(linktype)) continue;  // frames of an interface we cannot decode
    sink.frame(linktype, (*packet)->data, (*packet)->time_ns);
  }
  r.link_type.clear();
  for (uint32_t t : link_types) r.link_type += (r.link_type.empty() ? "" : " + ") + std::string(net::name(t));
}

// libpcap first; a pcapng with mixed link types again from the start with our reader.
template <class OpenFile, class OpenStream>
FileResult analyse(const std::string& name, bool seekable, const std::set<uint16_t>& port_list, const DatagramTap& tap,
                   const Progress& progress, OpenFile open_file, OpenStream open_stream) {
  std::bitset<65536> ports;  // a bit test per frame instead of a set lookup
  for (uint16_t p : port_list) ports.set(p);
  FileResult r;
  r.name = name;
  {
    Sink sink{r, ports, tap, progress, net::FrameDecoder{}, replay::Analyzer{}};
    read_with_libpcap(open_file(), seekable, sink);
    if (r.error.find("different from the type of the first interface") == std::string::npos) {
      sink.finish();
      return r;
    }
  }
  if (!seekable) {
    // Standard input cannot be read a second time: say so rather than guess.
    r.error += "; a pcapng with interfaces of different link types can be read from a file, not from standard input";
    return r;
  }
  r = FileResult{};
  r.name = name;
  Sink sink{r, ports, tap, progress, net::FrameDecoder{}, replay::Analyzer{}};
  auto in = open_stream();
  if (!*in) {
    r.error = "cannot read the capture again for its pcapng blocks";
    return r;
  }
  read_pcapng(*in, sink);
  sink.finish();
  return r;
}

}  // namespace

FileResult analyse_file(const std::string& path, const std::set<uint16_t>& ports, const DatagramTap& tap,
                        const Progress& progress) {
  // libpcap reads record by record through stdio, whose default buffer (st_blksize, 4 KiB) costs
  // a read(2) per 40 frames; 64 KiB takes 16 times fewer and still fits in L2, from where libpcap
  // copies each record. glibc ignores the size unless it is handed the buffer, which must outlive
  // the FILE (libpcap closes it before analyse() returns).
  std::vector<char> buffer(64 * 1024);
  const auto open_file = [&] {
    FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (file != nullptr) std::setvbuf(file, buffer.data(), _IOFBF, buffer.size());
    return file;
  };
  return analyse(path, path != "-", ports, tap, progress, open_file,
                 [&] { return std::make_unique<std::ifstream>(path, std::ios::binary); });
}

FileResult analyse_memory(std::span<const uint8_t> bytes, const std::set<uint16_t>& ports) {
  return analyse(
      "memory", true, ports, DatagramTap{}, Progress{},
      [&] { return fmemopen(const_cast<uint8_t*>(bytes.data()), bytes.size(), "rb"); },
      [&] {
        return std::make_unique<std::istringstream>(std::string(bytes.begin(), bytes.end()), std::ios::binary);
      });
}

}  // namespace ntpkit::probe
