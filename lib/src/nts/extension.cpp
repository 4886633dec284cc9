#include "ntpkit/nts/extension.hpp"

#include <algorithm>

#include "ntpkit/wire/bytes.hpp"
#include "ntpkit/wire/serialize.hpp"

namespace ntpkit::nts {

std::string_view field_name(uint16_t type) {
  switch (type) {
    case kUniqueIdentifier: return "Unique Identifier";
    case kCookie: return "NTS Cookie";
    case kCookiePlaceholder: return "NTS Cookie Placeholder";
    case kAuthenticator: return "NTS Authenticator and Encrypted Extension Fields";
    default: return "";
  }
}

namespace {
constexpr size_t pad4(size_t n) {
  return (n + 3) & ~size_t{3};
}
}  // namespace

std::string describe(const AuthenticatorError& e) {
  std::string out = "NTS authenticator at byte " + std::to_string(e.offset) + ": ";
  switch (e.code) {
    case AuthenticatorErrorCode::TooShort: return out + "no room for its nonce and ciphertext lengths";
    case AuthenticatorErrorCode::NonceOverrun: return out + "the nonce runs past the field";
    case AuthenticatorErrorCode::CiphertextOverrun: return out + "the ciphertext runs past the field";
  }
  return out;
}

Result<Authenticator, AuthenticatorError> parse_authenticator(const ExtensionFieldView& field) {
  ByteReader r(field.value);
  const auto nonce_length = r.u16();
  const auto ciphertext_length = r.u16();
  if (!nonce_length || !ciphertext_length)
    return Failure{AuthenticatorError{AuthenticatorErrorCode::TooShort, field.offset}};
  const size_t nonce_at = 4;
  if (pad4(*nonce_length) > field.value.size() - nonce_at) {
    return Failure{AuthenticatorError{AuthenticatorErrorCode::NonceOverrun, field.offset}};
  }
  const size_t ciphertext_at = nonce_at + pad4(*nonce_length);
  if (pad4(*ciphertext_length) > field.value.size() - ciphertext_at) {
    return Failure{AuthenticatorError{AuthenticatorErrorCode::CiphertextOverrun, field.offset}};
  }
  Authenticator a;
  a.nonce = field.value.subspan(nonce_at, *nonce_length);
  a.ciphertext = field.value.subspan(ciphertext_at, *ciphertext_length);
  a.offset = field.offset;
  a.padding = field.value.size() - ciphertext_at - pad4(*ciphertext_length);
  return a;
}

Fields fields_of(const PacketView& packet) {
  Fields f;
  for (const ExtensionFieldView& e : packet.extensions()) {
    if (!f.authenticators.empty()) ++f.after_authenticator;
    switch (e.type) {
      case kUniqueIdentifier: f.unique_ids.push_back(e); break;
      case kCookie: f.cookies.push_back(e); break;
      case kCookiePlaceholder: f.placeholders.push_back(e); break;
      case kAuthenticator: f.authenticators.push_back(e); break;
      default: ++f.other; break;
    }
  }
  return f;
}

std::optional<std::vector<InnerField>> inner_fields(std::span<const uint8_t> bytes) {
  std::vector<InnerField> out;
  ByteReader r(bytes);
  while (r.remaining() > 0) {
    const auto type = r.u16();
    const auto length = r.u16();
    if (!type || !length || *length < 4) return std::nullopt;
    const auto value = r.bytes(*length - 4u);
    if (!value) return std::nullopt;
    out.push_back({*type, *value});
  }
  return out;
}

void append_field(std::vector<uint8_t>& out, uint16_t type, std::span<const uint8_t> value, size_t min_length) {
  const size_t length = std::min<size_t>(std::max(pad4(4 + value.size()), pad4(min_length)), 0xFFFC);
  out.push_back(static_cast<uint8_t>(type >> 8));
  out.push_back(static_cast<uint8_t>(type));
  out.push_back(static_cast<uint8_t>(length >> 8));
  out.push_back(static_cast<uint8_t>(length));
  const size_t copied = std::min(value.size(), length - 4);
  out.insert(out.end(), value.begin(), value.begin() + static_cast<std::ptrdiff_t>(copied));
  out.resize(out.size() + (length - 4 - copied), 0);
}

bool append_authenticator(std::vector<uint8_t>& out, const Aead& aead, std::span<const uint8_t> key,
                          std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext) {
  std::vector<uint8_t> ciphertext(plaintext.size() + aead.tag_length());
  if (!aead.seal(key, nonce, out, plaintext, ciphertext)) return false;
  std::vector<uint8_t> body;
  body.reserve(4 + pad4(nonce.size()) + pad4(ciphertext.size()));
  body.push_back(static_cast<uint8_t>(nonce.size() >> 8));
  body.push_back(static_cast<uint8_t>(nonce.size()));
  body.push_back(static_cast<uint8_t>(ciphertext.size() >> 8));
  body.push_back(static_cast<uint8_t>(ciphertext.size()));
  body.insert(body.end(), nonce.begin(), nonce.end());
  body.resize(4 + pad4(nonce.size()), 0);
  body.insert(body.end(), ciphertext.begin(), ciphertext.end());
  body.resize(body.size() + pad4(ciphertext.size()) - ciphertext.size(), 0);
  append_field(out, kAuthenticator, body, 0);
  return true;
}

std::optional<std::vector<uint8_t>> build_request(const RequestParts& parts, const Aead& aead,
                                                  std::span<const uint8_t> c2s_key) {
  std::vector<uint8_t> out(kHeaderLength);
  write_header(parts.header, std::span<uint8_t>(out).first<kHeaderLength>());
  append_field(out, kUniqueIdentifier, parts.unique_id);
  append_field(out, kCookie, parts.cookie);
  const std::vector<uint8_t> zeros(parts.cookie.size(), 0);
  for (size_t i = 0; i < parts.placeholders; ++i) append_field(out, kCookiePlaceholder, zeros);
  if (!append_authenticator(out, aead, c2s_key, parts.nonce)) return std::nullopt;
  return out;
}

OpenedReply open_reply(const PacketView& reply, std::span<const uint8_t> unique_id, const Aead& aead,
                       std::span<const uint8_t> s2c_key) {
  OpenedReply o;
  const Fields f = fields_of(reply);
  // What precedes the authenticator is authenticated; what follows it is not, and does not count
  // (RFC 8915 §5.7: "The client MUST discard any unauthenticated extension fields").
  const size_t auth_at = f.authenticators.empty() ? reply.size() : f.authenticators.front().offset;
  size_t uids = 0;
  bool ours = false;
  for (const auto& e : f.unique_ids) {
    if (e.offset > auth_at) continue;
    ++uids;
    // Ours as sent: the identifier, then the zeros that padded its field to a word.
    const bool padded = e.value.size() >= unique_id.size() && e.value.size() - unique_id.size() < 4 &&
                        std::ranges::all_of(e.value.subspan(unique_id.size()), [](uint8_t b) { return b == 0; });
    ours = ours || (padded && std::ranges::equal(e.value.first(unique_id.size()), unique_id));
  }
  o.unique_id_echoed = uids == 1 && ours;
  o.unauthenticated_after = f.after_authenticator;
  for (const auto& e : f.cookies) o.unencrypted_cookies += e.offset < auth_at ? 1 : 0;
  if (f.authenticators.empty()) {
    o.problem = "no NTS authenticator";
    return o;
  }
  if (f.authenticators.size() > 1) {
    o.problem = std::to_string(f.authenticators.size()) + " NTS authenticators";
    return o;
  }
  const auto a = parse_authenticator(f.authenticators.front());
  if (!a) {
    o.problem = describe(a.error());
    return o;
  }
  if (a->ciphertext.size() < aead.tag_length()) {
    o.problem = "a ciphertext of " + std::to_string(a->ciphertext.size()) + " octets, shorter than the " +
                std::to_string(aead.tag_length()) + "-octet tag";
    return o;
  }
  std::vector<uint8_t> plaintext(a->ciphertext.size() - aead.tag_length());
  const auto associated = reply.bytes.first(a->offset);
  if (!aead.open(s2c_key, a->nonce, associated, a->ciphertext, plaintext)) {
    o.problem = a->nonce.empty() ? "an empty nonce" : "the tag does not verify under the S2C key";
    return o;
  }
  o.authenticated = true;
  const auto inner = inner_fields(plaintext);
  if (!inner) {
    o.problem = "the decrypted plaintext is not a sequence of extension fields";
    return o;
  }
  o.plaintext_fields = inner->size();
  for (const InnerField& e : *inner) {
    if (e.type == kCookie) o.cookies.emplace_back(e.value.begin(), e.value.end());
  }
  return o;
}

}  // namespace ntpkit::nts
