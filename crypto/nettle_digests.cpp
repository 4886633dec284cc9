#include "ntpkit/crypto/nettle_digests.hpp"

#include <nettle/cmac.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>

namespace ntpkit::crypto {

void NettleDigests::compute(const auth::Key& key, std::span<const uint8_t> message, auth::Digest& out) const {
  switch (key.type) {
    case auth::KeyType::Md5: {
      md5_ctx ctx;
      md5_init(&ctx);
      md5_update(&ctx, key.secret.size(), key.secret.data());
      md5_update(&ctx, message.size(), message.data());
      md5_digest(&ctx, MD5_DIGEST_SIZE, out.data());
      return;
    }
    case auth::KeyType::Sha1: {
      sha1_ctx ctx;
      sha1_init(&ctx);
      sha1_update(&ctx, key.secret.size(), key.secret.data());
      sha1_update(&ctx, message.size(), message.data());
      sha1_digest(&ctx, SHA1_DIGEST_SIZE, out.data());
      return;
    }
    case auth::KeyType::Aes128Cmac: {
      // The key store holds only 16-byte AES128CMAC keys (keys.cpp refuses others).
      cmac_aes128_ctx ctx;
      cmac_aes128_set_key(&ctx, key.secret.data());
      cmac_aes128_update(&ctx, message.size(), message.data());
      cmac_aes128_digest(&ctx, CMAC128_DIGEST_SIZE, out.data());
      return;
    }
  }
}

}  // namespace ntpkit::crypto
