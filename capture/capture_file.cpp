#include "ntpkit/capture/capture_file.hpp"

#include <pcap/pcap.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

#include "ntpkit/capture/frame.hpp"
#include "ntpkit/capture/pcapng.hpp"

namespace ntpkit::capture {
namespace {

// Reading and judging on two threads: the reading one (libpcap and the frame decoder) hands the
// NTP datagrams, their payloads copied, to a judging one (the analyzer and the tap) in batches, so
// that the two halves of every packet's cost are paid at the same time on two CPUs. The analyzer
// sees the datagrams in file order, as it would on one thread: the reports are the same.
class Handoff {
 public:
  Handoff(replay::Analyzer& analyzer, const DatagramTap& tap) : analyzer_(analyzer), tap_(tap) {
    for (Batch& b : batches_) {
      b.datagrams.reserve(kBatchDatagrams);
      b.bytes.resize(kBatchBytes);
      free_.put(&b);
    }
    fill_ = free_.take();
    worker_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ntp-probe-judge");  // for top -H and perf; 15 characters
      judge_batches();
    });
  }
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;
  ~Handoff() { stop(); }

  // False once the judging thread has failed: the reader stops, finish() says why.
  [[nodiscard]] bool healthy() const { return !failed_.load(std::memory_order_relaxed); }

  void push(const replay::Datagram& d) {
    const size_t size = d.payload.size();
    if (!fill_->datagrams.empty() &&
        (fill_->datagrams.size() == kBatchDatagrams || size > fill_->bytes.size() - fill_->used)) {
      full_.put(fill_);
      fill_ = free_.take();
    }
    if (size > fill_->bytes.size()) fill_->bytes.resize(size);  // an empty batch: no span points into it
    uint8_t* copy = fill_->bytes.data() + fill_->used;
    if (size != 0) std::memcpy(copy, d.payload.data(), size);
    fill_->used += size;
    fill_->datagrams.push_back(d);
    fill_->datagrams.back().payload = {copy, size};
  }

  // Hands over what is left, waits for the judging thread, and rethrows what it threw.
  void finish() {
    if (!fill_->datagrams.empty()) {
      full_.put(fill_);
      fill_ = nullptr;
    }
    stop();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // A few thousand datagrams a batch: a hand-over costs about as much as judging a datagram or two
  // (more when the other thread sleeps and must be woken), and four batches in flight stay within
  // the caches.
  static constexpr size_t kBatchDatagrams = 2048;
  static constexpr size_t kBatchBytes = 256 * 1024;
  static constexpr size_t kBatches = 4;
  struct alignas(128) Batch {  // the one the reader fills on lines of its own (alignas: no false sharing)
    std::vector<replay::Datagram> datagrams;  // payloads point into bytes
    std::vector<uint8_t> bytes;
    size_t used = 0;
  };
  // Batches passed from one thread to the other (one puts, the other takes), in order; nullptr
  // ends the judging. A ring with room for every batch and the end: put never waits. take spins
  // a little before it sleeps: the other thread usually hands a batch over within microseconds,
  // and waking a sleeping thread (a futex call, on a VM an interrupt to an idle vCPU) takes longer.
  class Channel {
   public:
    void put(Batch* b) {
      const uint32_t t = tail_.load(std::memory_order_relaxed);
      slots_[t % kRing] = b;
      tail_.store(t + 1, std::memory_order_release);
      tail_.notify_one();
    }
    Batch* take() {
      uint32_t t = 0;
      for (int spins = 0; (t = tail_.load(std::memory_order_acquire)) == head_; ++spins) {
        if (spins < kSpins) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();  // tells the core it spins: less power, the other hyperthread runs
#endif
        } else {
          tail_.wait(t, std::memory_order_acquire);
        }
      }
      return slots_[head_++ % kRing];
    }

   private:
    static constexpr uint32_t kRing = 8;  // a power of two over kBatches + 1 (the end)
    static_assert(kRing >= kBatches + 1 && (kRing & (kRing - 1)) == 0);
    static constexpr int kSpins = 2000;  // about 20-50 us of pause instructions
    std::array<Batch*, kRing> slots_{};
    alignas(64) std::atomic<uint32_t> tail_{0};  // written by the putting thread
    alignas(64) uint32_t head_ = 0;              // the taking thread's
  };

  void judge_batches() {
    while (Batch* b = full_.take()) {
      if (healthy()) {
        try {
          for (const replay::Datagram& d : b->datagrams) {
            analyzer_.add(d);
            if (tap_) tap_(d);
          }
        } catch (...) {
          error_ = std::current_exception();  // read after join()
          failed_.store(true, std::memory_order_relaxed);
        }
      }
      b->datagrams.clear();
      b->used = 0;
      free_.put(b);
    }
  }
  // The judging thread judges what was handed over before it sees the end.
  void stop() {
    if (!worker_.joinable()) return;
    full_.put(nullptr);
    worker_.join();
  }

  replay::Analyzer& analyzer_;
  const DatagramTap& tap_;
  std::array<Batch, kBatches> batches_;
  Batch* fill_ = nullptr;  // the reading thread's
  Channel full_, free_;
  alignas(64) std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::thread worker_;
};

// Whether this process may run on two CPUs or more.
bool two_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

// Decodes frames and feeds the NTP datagrams to the analyzer, directly or through a Handoff.
struct Sink {
  FileResult& r;
  const std::bitset<65536>& ports;
  const DatagramTap& tap;
  const Progress& progress;
  net::FrameDecoder decoder;
  // On a second thread the analyzer writes its counters for every datagram: on cache lines of
  // their own, away from the reader's state on this stack (a line written by both threads in
  // turn costs more than the judging: the first two-thread version spent a fifth more CPU).
  struct alignas(128) Isolated {
    explicit Isolated(const replay::Options& o) : analyzer(o) {}
    replay::Analyzer analyzer;
  };
  std::unique_ptr<Isolated> isolated;
  replay::Analyzer& analyzer;
  std::unique_ptr<Handoff> handoff;  // set: the analyzer runs on a second thread

  Sink(FileResult& result, const std::bitset<65536>& port_set, const DatagramTap& datagram_tap, const Progress& p,
       unsigned threads, const replay::Options& options)
      : r(result),
        ports(port_set),
        tap(datagram_tap),
        progress(p),
        isolated(std::make_unique<Isolated>(options)),
        analyzer(isolated->analyzer) {
    if (threads >= 2) {
      try {
        handoff = std::make_unique<Handoff>(analyzer, tap);
      } catch (const std::system_error&) {
        // No second thread to be had (a process or memory limit): one thread gives the same report.
      }
    }
  }

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
    if (handoff) return handoff->push(d);
    analyzer.add(d);
    if (tap) tap(d);
  }
  [[nodiscard]] bool healthy() const { return !handoff || handoff->healthy(); }
  void finish() {
    if (handoff) handoff->finish();
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
  // A classic pcap's records are a 16-byte header and the captured bytes: their offsets are
  // counted, so that damage is named where its record starts. (For pcapng, libpcap says only
  // how far it read.)
  bool classic = false;
  if (seekable) {
    uint32_t magic = 0;
    classic = std::fread(&magic, 1, 4, file) == 4 &&
              (magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d || magic == 0x4d3cb2a1);
    std::rewind(file);
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
    uint64_t next_record;  // classic pcap: where the next record starts
  } loop{sink, p.get(), linktype, seekable, 24};
  const auto on_record = [](u_char* user, const pcap_pkthdr* h, const u_char* data) {
    Loop& l = *reinterpret_cast<Loop*>(user);
    l.next_record += 16 + h->caplen;
    // Nanosecond precision was asked for: tv_usec holds nanoseconds.
    // Clamped (about 1843 to 2096) so that no difference of two capture times overflows.
    const int64_t secs = std::clamp<int64_t>(h->ts.tv_sec, -4'000'000'000, 4'000'000'000);
    l.sink.frame(l.linktype, {data, h->caplen}, secs * 1'000'000'000 + h->ts.tv_usec);
    if (!l.sink.healthy()) pcap_breakloop(l.p);  // the judging thread failed: Sink::finish says why
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
  if (rc == 0 || rc == PCAP_ERROR_BREAK) return;
  // A damaged or truncated file: say where, keep what was read.
  const long read_to = seekable ? std::ftell(pcap_file(p.get())) : -1;
  const std::string where = classic        ? " (the record at byte offset " + std::to_string(loop.next_record) + ")"
                            : read_to >= 0 ? " (read up to byte offset " + std::to_string(read_to) + ")"
                                           : "";
  r.error = "damaged after frame " + std::to_string(r.frames) + where + ": " + pcap_geterr(p.get());
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
      r.error = "damaged after frame " + std::to_string(r.frames) + " (the block at byte offset " +
                std::to_string(offset) + "): " + what;
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
    if (!sink.healthy()) return;  // the judging thread failed: Sink::finish says why
  }
  r.link_type.clear();
  for (uint32_t t : link_types) r.link_type += (r.link_type.empty() ? "" : " + ") + std::string(net::name(t));
}

// libpcap first; a pcapng with mixed link types again from the start with our reader.
template <class OpenFile, class OpenStream>
FileResult analyse(const std::string& name, bool seekable, const std::set<uint16_t>& port_list, const DatagramTap& tap,
                   const Progress& progress, unsigned threads, const replay::Options& options, OpenFile open_file,
                   OpenStream open_stream) {
  if (threads == 0) threads = two_cpus() ? 2 : 1;
  std::bitset<65536> ports;  // a bit test per frame instead of a set lookup
  for (uint16_t p : port_list) ports.set(p);
  FileResult r;
  r.name = name;
  {
    Sink sink(r, ports, tap, progress, threads, options);
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
  Sink sink(r, ports, tap, progress, threads, options);
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
                        const Progress& progress, unsigned threads, const replay::Options& options) {
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
  return analyse(path, path != "-", ports, tap, progress, threads, options, open_file,
                 [&] { return std::make_unique<std::ifstream>(path, std::ios::binary); });
}

FileResult analyse_memory(std::span<const uint8_t> bytes, const std::set<uint16_t>& ports, unsigned threads) {
  return analyse(
      "memory", true, ports, DatagramTap{}, Progress{}, threads, replay::Options{},
      [&] { return fmemopen(const_cast<uint8_t*>(bytes.data()), bytes.size(), "rb"); },
      [&] { return std::make_unique<std::istringstream>(std::string(bytes.begin(), bytes.end()), std::ios::binary); });
}

}  // namespace ntpkit::capture
