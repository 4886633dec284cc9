// Frame decoding with reassembly state: several frames go through one decoder.
//
// Input: byte 0 picks the link type (low 3 bits, from kLinkTypes), a small memory limit (bit 3)
// and a short fragment timeout (bit 4). Then records: a 2-byte big-endian frame length, a signed
// byte of time step in seconds (so time also runs backwards), and the frame (cut short by the end
// of the input).
//
// Oracles: a payload lies within its frame, or is a reassembled datagram no longer than 65,535
// bytes (and every byte of it is readable); an offset lies within what was decoded; kinds that
// carry no payload have none; the tunnel count stays bounded; the decoder's counters agree with
// its limits.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_check.hpp"
#include "ntpkit/capture/frame.hpp"
#include "ntpkit/capture/reassembly.hpp"

namespace {

using ntpkit::net::DecodedFrame;
using ntpkit::net::FrameDecoder;
using ntpkit::net::LinkType;

constexpr LinkType kLinkTypes[8] = {LinkType::Null,     LinkType::Ethernet, LinkType::Raw,  LinkType::Loop,
                                    LinkType::LinuxSll, LinkType::Ipv4,     LinkType::Ipv6, LinkType::LinuxSll2};
// Room for three datagrams of a few hundred bytes, so that eviction by memory happens.
constexpr size_t kSmallMemory = 3 * ntpkit::net::kFragmentBookkeepingBytes + 512;
constexpr int64_t kSecond = 1'000'000'000;

void check(const DecodedFrame& f, std::span<const uint8_t> frame) {
  using Kind = DecodedFrame::Kind;
  NTPKIT_FUZZ_CHECK(f.tunnels <= ntpkit::net::kMaxTunnels);
  if (f.reassembled) {
    NTPKIT_FUZZ_CHECK(f.payload.size() <= ntpkit::net::kMaxReassembledBytes);
    NTPKIT_FUZZ_CHECK(f.truncated_at <= ntpkit::net::kMaxReassembledBytes);
    unsigned sum = 0;
    for (uint8_t b : f.payload) sum += b;  // ASan checks that the reassembly buffer is alive
    NTPKIT_FUZZ_CHECK(sum <= 255u * f.payload.size());
  } else {
    NTPKIT_FUZZ_CHECK(f.truncated_at <= frame.size());
    if (!f.payload.empty()) {
      NTPKIT_FUZZ_CHECK(f.payload.data() >= frame.data());
      NTPKIT_FUZZ_CHECK(f.payload.data() + f.payload.size() <= frame.data() + frame.size());
    }
  }
  switch (f.kind) {
    case Kind::NotIp:
    case Kind::FragmentHeld:
    case Kind::Truncated: NTPKIT_FUZZ_CHECK(f.payload.empty()); break;
    case Kind::Udp:
    case Kind::Tcp:
      NTPKIT_FUZZ_CHECK(f.source.address.v6 == f.destination.address.v6);
      NTPKIT_FUZZ_CHECK(f.source.to_string().size() <= 47 + 6);  // "[" 45 "]" ":" 5
      NTPKIT_FUZZ_CHECK(f.destination.to_string().size() <= 47 + 6);
      break;
    case Kind::IcmpError:
    case Kind::OtherIp: break;
  }
  if (f.kind != Kind::Truncated) NTPKIT_FUZZ_CHECK(f.truncated_at == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> in(data, size);
  const uint8_t control = in[0];
  const auto linktype = static_cast<uint32_t>(kLinkTypes[control & 7]);
  NTPKIT_FUZZ_CHECK(ntpkit::net::is_supported(linktype));
  FrameDecoder::Limits limits;
  if (control & 8) limits.max_reassembly_bytes = kSmallMemory;
  if (control & 16) limits.fragment_timeout_ns = kSecond;
  FrameDecoder decoder(limits);

  size_t pos = 1;
  int64_t time_ns = 0;
  size_t frames = 0;
  size_t evicted = 0;
  while (pos + 3 <= size) {
    const size_t length = static_cast<size_t>(in[pos] << 8 | in[pos + 1]);
    time_ns += static_cast<int8_t>(in[pos + 2]) * kSecond;
    pos += 3;
    const auto frame = in.subspan(pos, std::min(length, size - pos));
    pos += frame.size();
    check(decoder.decode(linktype, frame, time_ns), frame);
    ++frames;
    // A fragment opens at most one datagram, and each one held is charged against the limit.
    NTPKIT_FUZZ_CHECK(decoder.fragments_pending() <= frames);
    NTPKIT_FUZZ_CHECK(decoder.fragments_pending() * ntpkit::net::kFragmentBookkeepingBytes <=
                      limits.max_reassembly_bytes);
    NTPKIT_FUZZ_CHECK(decoder.fragments_evicted() >= evicted);
    evicted = decoder.fragments_evicted();
  }
  return 0;
}
