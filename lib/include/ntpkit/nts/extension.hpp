// NTS extension fields for NTPv4 (RFC 8915 §5): Unique Identifier, NTS Cookie, NTS Cookie
// Placeholder, and NTS Authenticator and Encrypted Extension Fields, whose body is
//
//   Nonce Length (16) | Ciphertext Length (16) | Nonce, padded to 4 | Ciphertext, padded to 4 |
//   Additional Padding
//
// The AEAD's associated data is the packet from its first byte to the end of the extension field
// before the authenticator; its plaintext is a sequence of extension fields (the server's new
// cookies). Pure: the AEAD comes through nts::Aead.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ntpkit/nts/aead.hpp"
#include "ntpkit/util/result.hpp"
#include "ntpkit/wire/packet.hpp"

namespace ntpkit::nts {

inline constexpr uint16_t kUniqueIdentifier = 0x0104;
inline constexpr uint16_t kCookie = 0x0204;
inline constexpr uint16_t kCookiePlaceholder = 0x0304;
inline constexpr uint16_t kAuthenticator = 0x0404;
inline constexpr size_t kUniqueIdentifierLength = 32;  // what we send (RFC 8915 §5.3: at least 32)
inline constexpr size_t kNonceLength = 16;             // what we send
// The field's name ("Unique Identifier"), or empty for a type that is not NTS's.
[[nodiscard]] std::string_view field_name(uint16_t type);

struct Authenticator {
  std::span<const uint8_t> nonce;
  std::span<const uint8_t> ciphertext;
  size_t offset = 0;   // of the extension field in the packet
  size_t padding = 0;  // additional padding after the ciphertext
};
enum class AuthenticatorErrorCode : uint8_t {
  TooShort,           // no room for the two length fields
  NonceOverrun,       // the nonce (padded) runs past the field
  CiphertextOverrun,  // the ciphertext (padded) runs past the field
};
struct AuthenticatorError {
  AuthenticatorErrorCode code;
  size_t offset;  // of the extension field
};
[[nodiscard]] std::string describe(const AuthenticatorError& e);
[[nodiscard]] Result<Authenticator, AuthenticatorError> parse_authenticator(const ExtensionFieldView& field);

// One pass over a parsed packet's extension fields.
struct Fields {
  std::vector<ExtensionFieldView> unique_ids;
  std::vector<ExtensionFieldView> cookies;
  std::vector<ExtensionFieldView> placeholders;
  std::vector<ExtensionFieldView> authenticators;
  size_t after_authenticator = 0;  // extension fields after the first authenticator
  size_t other = 0;                // fields of other types
};
[[nodiscard]] Fields fields_of(const PacketView& packet);

// The extension fields of a byte string that holds nothing else (a decrypted plaintext): each
// {type, value}; nullopt when one does not frame (length below 4, or past the end).
struct InnerField {
  uint16_t type;
  std::span<const uint8_t> value;
};
[[nodiscard]] std::optional<std::vector<InnerField>> inner_fields(std::span<const uint8_t> bytes);

// Appends an extension field of `type` holding `value`, zero-padded to a multiple of 4 and to
// at least `min_length` octets in all.
void append_field(std::vector<uint8_t>& out, uint16_t type, std::span<const uint8_t> value, size_t min_length = 16);

// Appends the authenticator over out[0, out.size()) (the associated data), sealing `plaintext`
// (extension fields) under `key` with `nonce`. False when the AEAD refused the key or nonce.
[[nodiscard]] bool append_authenticator(std::vector<uint8_t>& out, const Aead& aead, std::span<const uint8_t> key,
                                        std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext = {});

// A client request (RFC 8915 §5.7): the header, a Unique Identifier, one cookie, `placeholders`
// Cookie Placeholders of the cookie's length, and the authenticator under the C2S key.
struct RequestParts {
  Header header;
  std::span<const uint8_t> unique_id;
  std::span<const uint8_t> cookie;
  size_t placeholders = 0;
  std::span<const uint8_t> nonce;
};
[[nodiscard]] std::optional<std::vector<uint8_t>> build_request(const RequestParts& parts, const Aead& aead,
                                                                std::span<const uint8_t> c2s_key);

// What a reply to an NTS request proves, opened with the S2C key.
struct OpenedReply {
  bool unique_id_echoed = false;              // exactly one authenticated Unique Identifier, equal to ours
  bool authenticated = false;                 // exactly one authenticator, and its tag verifies
  std::vector<std::vector<uint8_t>> cookies;  // NTS Cookie fields of the decrypted plaintext
  size_t plaintext_fields = 0;                // fields in the plaintext (cookies and others)
  size_t unauthenticated_after = 0;           // extension fields after the authenticator
  size_t unencrypted_cookies = 0;             // NTS Cookie fields before the authenticator (not encrypted)
  std::string problem;                        // why not authenticated, when it is not
};
[[nodiscard]] OpenedReply open_reply(const PacketView& reply, std::span<const uint8_t> unique_id, const Aead& aead,
                                     std::span<const uint8_t> s2c_key);

}  // namespace ntpkit::nts
