#include "ntpkit/wire/packet.hpp"

#include <array>
#include <cstdio>

#include "ntpkit/wire/bytes.hpp"

namespace ntpkit {
namespace {

constexpr std::array<std::string_view, 15> kKissNames = {
    "ACST", "AUTH", "AUTO", "BCST", "CRYP", "DENY", "DROP", "RSTR",
    "INIT", "MCST", "NKEY", "NTSN", "RATE", "RMOT", "STEP",
};

// RFC 5905 Figure 13, and RFC 8915 §5.7 for NTSN.
constexpr std::array<std::string_view, 15> kKissMeanings = {
    "the association belongs to a unicast server",
    "server authentication failed",
    "autokey sequence failed",
    "the association belongs to a broadcast server",
    "cryptographic authentication or identification failed",
    "access denied by remote server",
    "lost peer in symmetric mode",
    "access denied due to local policy",
    "the association has not yet synchronized for the first time",
    "the association belongs to a dynamically discovered server",
    "no key found: either the key was never installed or is not trusted",
    "NTS authentication failed: the server could not decrypt its cookie",
    "rate exceeded: the server has temporarily denied access because the client exceeded the rate threshold",
    "alteration of association from a remote host running ntpdc",
    "a step change in system time has occurred, but the association has not yet resynchronized",
};

}  // namespace

std::string_view to_string(Mode m) {
  switch (m) {
    case Mode::Reserved: return "reserved";
    case Mode::SymmetricActive: return "symmetric active";
    case Mode::SymmetricPassive: return "symmetric passive";
    case Mode::Client: return "client";
    case Mode::Server: return "server";
    case Mode::Broadcast: return "broadcast";
    case Mode::Control: return "control";
    case Mode::Private: return "private";
  }
  return "?";
}

std::string_view to_string(Leap l) {
  switch (l) {
    case Leap::NoWarning: return "no warning";
    case Leap::AddSecond: return "last minute has 61 seconds";
    case Leap::DeleteSecond: return "last minute has 59 seconds";
    case Leap::Unsynchronized: return "unsynchronized (alarm)";
  }
  return "?";
}

std::string_view to_string(KissCode k) {
  return kKissNames[static_cast<size_t>(k)];
}
std::string_view describe(KissCode k) {
  return kKissMeanings[static_cast<size_t>(k)];
}

std::string_view to_string(MacKind k) {
  switch (k) {
    case MacKind::CryptoNak: return "crypto-NAK";
    case MacKind::Md5: return "MAC (key id + 128-bit digest)";
    case MacKind::Sha1: return "MAC (key id + 160-bit digest)";
    case MacKind::Legacy: return "legacy MAC";
  }
  return "?";
}

ReferenceId ReferenceId::from_ascii(std::string_view code) {
  uint32_t raw = 0;
  for (size_t i = 0; i < 4; ++i) {
    const uint8_t c = i < code.size() ? static_cast<uint8_t>(code[i]) : 0;
    raw = (raw << 8) | c;
  }
  return ReferenceId(raw);
}

ReferenceId ReferenceId::from_ipv4(std::array<uint8_t, 4> a) {
  return ReferenceId((uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3]);
}

ReferenceId ReferenceId::from_kiss(KissCode k) {
  return from_ascii(to_string(k));
}

std::array<uint8_t, 4> ReferenceId::bytes() const {
  return {static_cast<uint8_t>(raw_ >> 24), static_cast<uint8_t>(raw_ >> 16), static_cast<uint8_t>(raw_ >> 8),
          static_cast<uint8_t>(raw_)};
}

bool ReferenceId::is_printable_ascii() const {
  bool seen_nul = false;
  for (uint8_t b : bytes()) {
    if (b == 0) {
      seen_nul = true;
    } else if (seen_nul || b < 0x20 || b > 0x7e) {
      return false;
    }
  }
  return raw_ != 0;
}

std::string ReferenceId::ascii() const {
  auto b = bytes();
  size_t n = 4;
  while (n > 0 && b[n - 1] == 0) --n;
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (b[i] >= 0x20 && b[i] <= 0x7e && b[i] != '\\') {
      out.push_back(static_cast<char>(b[i]));
    } else {
      std::array<char, 5> esc{};
      std::snprintf(esc.data(), esc.size(), "\\x%02x", b[i]);
      out += esc.data();
    }
  }
  return out;
}

std::string ReferenceId::ipv4() const {
  auto b = bytes();
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  return buf.data();
}

std::optional<KissCode> ReferenceId::kiss_code() const {
  for (size_t i = 0; i < kKissNames.size(); ++i) {
    if (from_ascii(kKissNames[i]).raw_ == raw_) return static_cast<KissCode>(i);
  }
  return std::nullopt;
}

ExtensionFieldView ExtensionRange::Iterator::operator*() const {
  ByteReader r(bytes_.subspan(pos_, end_ - pos_));
  ExtensionFieldView ef;
  ef.type = r.u16().value_or(0);
  ef.length = r.u16().value_or(0);
  ef.value = bytes_.subspan(pos_ + 4, ef.length - 4);
  ef.offset = pos_;
  return ef;
}

ExtensionRange::Iterator& ExtensionRange::Iterator::operator++() {
  pos_ += (**this).length;
  return *this;
}

Packet to_packet(const PacketView& view) {
  Packet p;
  p.header = view.header;
  for (const auto& ef : view.extensions()) {
    p.extensions.push_back({ef.type, {ef.value.begin(), ef.value.end()}, std::nullopt});
  }
  if (view.mac) p.mac = Mac{view.mac->key_id, {view.mac->digest.begin(), view.mac->digest.end()}};
  return p;
}

}  // namespace ntpkit
