// Every conformance case's failing twin: the ntp-server arguments that make it fail (or warn,
// or report a choice, for a MAY), and the reason the verdict must give. One table, run over UDP
// (tests/e2e/suite_twins_test.cpp) and in-process (tests/unit/suite_in_process_test.cpp).
// A new case adds its line here.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace ntpkit::test {

struct Twin {
  const char* case_id;
  std::vector<std::string> server_args;
  const char* outcome;  // "fail" or "warn"; "info" for a MAY case, which reports a choice
  const char* reason;   // regex over the case's summary, expected and actual
  // A case that signs its requests: the probe's --keys and --key-id, and the plain server's
  // --keys (the twin's server_args carry them too).
  std::vector<std::string> probe_args = {};
  std::vector<std::string> plain_server_args = {};
};

#ifndef NTPKIT_TEST_KEYS
#error "NTPKIT_TEST_KEYS: the path of tests/data/auth.keys"
#endif
// The auth suite's twins: ntp-server and the probe hold the same keys (tests/data/auth.keys);
// the probe signs with AES-CMAC key 3.
inline Twin auth_twin(const char* id, std::vector<std::string> misbehaviour, const char* outcome, const char* reason) {
  std::vector<std::string> server = {"--keys", NTPKIT_TEST_KEYS};
  server.insert(server.end(), misbehaviour.begin(), misbehaviour.end());
  return {id, server, outcome, reason, {"--keys", NTPKIT_TEST_KEYS, "--key-id", "3"}, {"--keys", NTPKIT_TEST_KEYS}};
}

#ifndef NTPKIT_TEST_NTS_CERT
#error "NTPKIT_TEST_NTS_CERT, NTPKIT_TEST_NTS_KEY: tests/data/nts-test-cert.pem and nts-test-key.pem"
#endif
// The nts suite's twins: ntp-server with NTS (the test certificate, a KE port of its choosing);
// the probe runs key establishment with it (--nts, --ca: over UDP the harness adds them with the
// port the server printed; in-process the material comes from the server's own cookie jar).
inline Twin nts_twin(const char* id, std::vector<std::string> misbehaviour, const char* outcome, const char* reason) {
  std::vector<std::string> plain = {"--nts-cert",        NTPKIT_TEST_NTS_CERT, "--nts-key",
                                    NTPKIT_TEST_NTS_KEY, "--nts-port",         "0"};
  std::vector<std::string> server = plain;
  server.insert(server.end(), misbehaviour.begin(), misbehaviour.end());
  return {id, server, outcome, reason, {}, plain};
}

// clang-format off
inline const std::vector<Twin> kTwins = {
    {"rfc5905/8/reply-mode", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3 \\(client\\)"},
    {"rfc5905/8/one-reply", {"--misbehave", "duplicate-reply"}, "warn", "2 replies"},
    {"rfc5905/8/origin-copy", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/8/origin-copy-all-ones", {"--misbehave", "no-origin-copy"}, "fail", "origin ffffffff.fffffffe"},
    {"rfc5905/8/origin-copy-era1", {"--misbehave", "origin-zero"}, "fail", "origin 00000000.00000000"},
    {"rfc5905/8/origin-copy-low-bits", {"--misbehave", "no-origin-copy"}, "fail", "origin [0-9a-f]{8}\\.00000000 "},
    {"rfc5905/8/transmit-nonzero", {"--misbehave", "transmit-zero"}, "fail", "transmit 00000000.00000000"},
    {"rfc5905/8/receive-before-transmit", {"--misbehave", "receive-after-transmit"}, "fail", "\\+1.000000000 s after transmit"},
    {"rfc5905/8/transmit-after-receive", {"--misbehave", "transmit-equals-receive"}, "info", "transmit equals receive .*allowed in basic mode"},
    {"rfc5905/8/poll-echo", {"--misbehave", "poll-not-echoed"}, "warn", "actual\":\"poll 10"},
    {"rfc5905/8/offset", {"--misbehave", "time-offset=5"}, "warn", "offset \\+(4\\.9|5\\.0)"},
    {"rfc5905/8/reply-source", {"--misbehave", "reply-from-other-port"}, "fail", "a reply from 127.0.0.1:[0-9]+"},
    {"rfc5905/8/no-amplification", {"--misbehave", "oversize-reply"}, "fail", "a reply of 64 bytes"},
    {"rfc5905/7.3/stratum-range", {"--misbehave", "stratum=17"}, "fail", "stratum 17 \\(reserved\\)"},
    {"rfc5905/7.4/kiss-code", {"--misbehave", "stratum-0-without-kiss"}, "warn", "127.0.0.1\\), no kiss code"},
    {"rfc5905/7.3/well-formed", {"--misbehave", "truncated-reply"}, "warn", "47 bytes; "},
    {"rfc5905/7.3/refid-stratum1", {"--refid", "1.2.3.4"}, "warn", "reference ID 1.2.3.4"},
    {"rfc5905/7.3/leap-consistent", {"--misbehave", "leap-alarm"}, "warn", "LI 3 .* with stratum 1"},
    {"rfc5905/7.3/precision", {"--precision", "0"}, "warn", "precision 2\\^0 s"},
    {"rfc5905/7.3/root-distance", {"--root-dispersion", "2"}, "warn", "root distance \\+2.000000000 s"},
    {"rfc5905/7.3/reference-before-transmit", {"--misbehave", "reference-future"}, "warn", "\\+3600.000000000 s after transmit"},
    {"rfc5905/7.3/reference-fresh", {"--misbehave", "reference-stale"}, "warn", "\\+864000.000000000 s before transmit"},
    {"rfc5905/A.5.1/vn0", {"--misbehave", "answer-all-versions"}, "warn", "VN 0, mode 4"},
    {"rfc5905/A.5.1/vn1", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn2", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn3", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc5905/A.5.1/vn4", {"--misbehave", "vn-fixed-3"}, "fail", "actual\":\"VN 3"},
    {"rfc5905/A.5.1/vn5", {"--misbehave", "answer-all-versions"}, "warn", "VN 5, mode 4"},
    {"rfc5905/A.5.1/vn6", {"--misbehave", "answer-all-versions"}, "warn", "VN 6, mode 4"},
    {"rfc5905/A.5.1/vn7", {"--misbehave", "answer-all-versions"}, "warn", "VN 7, mode 4"},
    {"rfc5905/9.2/mode0", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode1", {"--misbehave", "answer-all-modes"}, "fail", "expected\":\"mode 2 .*actual\":\"mode 4"},
    {"rfc5905/9.2/mode2", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode4", {"--misbehave", "answer-all-modes"}, "fail", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode5", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 4, mode 4"},
    {"rfc5905/9.2/mode6", {"--misbehave", "answer-all-modes", "--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/9.2/mode7", {"--misbehave", "answer-all-modes"}, "warn", "a 48-byte reply: VN 2, mode 4"},
    {"rfc5905/7.3/length-0", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-1", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-12", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.3/length-47", {"--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"rfc5905/7.5/length-49", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.5/length-50", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.5/length-52", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/7.5/length-1000", {"--misbehave", "echo-extension-fields"}, "warn", "1 extension field\\(s\\) of type 0x7e01"},
    {"rfc7822/3/ef-unknown", {"--misbehave", "echo-extension-fields"}, "warn", "1 extension field\\(s\\) of type 0x7e01"},
    {"rfc7822/3/ef-too-short", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc7822/3/ef-not-aligned", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc7822/3/ef-overrun", {"--misbehave", "answer-malformed"}, "warn", "the server answered"},
    {"rfc5905/7.4/mac-md5-unknown-key", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc5905/7.4/mac-sha1-unknown-key", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc7822/3/ef-then-mac", {"--misbehave", "ignore-mac"}, "warn", "without a crypto-NAK"},
    {"rfc5905/8/data-minimised-request", {"--misbehave", "wrong-mode=5"}, "fail", "actual\":\"mode 5"},
    {"rfc5905/8/full-request", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc5905/8/zero-transmit", {"--misbehave", "no-origin-copy"}, "fail", "origin 00000000.00000001"},
    {"rfc5905/8/unsynchronized-client", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3"},
    {"rfc7822/3/two-unknown-efs", {"--misbehave", "echo-extension-fields"}, "warn", "2 extension field\\(s\\)"},
    {"rfc7822/3/ef-padded", {"--misbehave", "echo-extension-fields"}, "warn", "of type 0x7e02"},
    {"rfc7822/3/last-ef-short", {"--misbehave", "echo-extension-fields"}, "warn", "of type 0x7e01"},
    {"rfc4330/6/vn-copy-v3", {"--misbehave", "vn-fixed-4"}, "fail", "actual\":\"VN 4"},
    {"rfc4330/6/vn-copy-v4", {"--misbehave", "vn-fixed-3"}, "fail", "actual\":\"VN 3"},
    {"rfc4330/6/mode", {"--misbehave", "wrong-mode"}, "fail", "actual\":\"mode 3"},
    {"rfc4330/6/poll-copy", {"--misbehave", "poll-not-echoed"}, "fail", "actual\":\"poll 6"},
    {"rfc4330/6/originate-copy", {"--misbehave", "no-origin-copy"}, "fail", "differs in bits 0000000000000001"},
    {"rfc4330/6/timestamps", {"--misbehave", "transmit-zero"}, "fail", "transmit 00000000.00000000"},
    {"rfc4330/6/unsynchronized", {"--misbehave", "leap-alarm"}, "warn", "LI 3 .* with stratum 1"},
    {"rfc4330/6/mode1", {"--misbehave", "answer-all-modes"}, "warn", "actual\":\"mode 4"},
    {"security/mode6-readvar", {"--misbehave", "answer-all-modes", "--misbehave", "answer-malformed"}, "fail", "amplification.*a reply of 48 bytes"},
    {"security/mode7-monlist", {"--misbehave", "answer-all-modes"}, "warn", "1 packet\\(s\\), 48 bytes for 1 packet\\(s\\), 48 bytes"},
    {"security/mode7-peerlist", {"--misbehave", "answer-all-modes"}, "warn", "1 packet\\(s\\), 48 bytes for 1 packet\\(s\\), 48 bytes"},
    {"security/cve-2015-7871", {"--symmetric", "reply", "--misbehave", "ignore-mac"}, "fail", "a crypto-NAK mobilised a symmetric association"},
    {"security/kod-origin", {"--misbehave", "kod-without-origin"}, "fail", "kiss-o'-death 'RATE' with origin 00000000.00000000"},
    {"security/replay-fresh", {"--misbehave", "frozen-clock"}, "warn", "the replayed request got the same timestamps"},
    {"ratelimit/burst", {"--misbehave", "kod-without-origin"}, "fail", "does not carry our origin"},
    {"interleaved/supported", {"--no-interleaved"}, "info", "answers in basic mode: no interleaved mode"},
    {"interleaved/origin", {"--misbehave", "interleaved-wrong-origin"}, "fail", "names neither the transmit nor the receive field of the request"},
    {"interleaved/previous-transmit", {"--misbehave", "interleaved-wrong-transmit"}, "warn", "not the previous reply's departure.*after this request arrived"},
    {"interleaved/basic-request", {"--misbehave", "interleaved-always"}, "fail", "an interleaved reply to a request that did not ask for it|names neither the transmit nor the receive field of the request.*origin 00000000.00000000"},
    {"interleaved/bogus-origin", {"--misbehave", "interleaved-always"}, "fail", "an interleaved reply to a request that (did not ask for it|named no reply)"},
    {"interleaved/receive-once", {"--misbehave", "interleaved-reuse"}, "fail", "a receive timestamp already answered interleaved was used again"},
    {"interleaved/new-port", {"--no-interleaved"}, "info", "never answered in interleaved mode, from either port"},
    {"interleaved/distinct-timestamps", {"--misbehave", "transmit-equals-receive"}, "fail", "a reply's transmit equals its receive"},
    auth_twin("auth/authenticated-reply", {"--misbehave", "auth-unsigned-reply"}, "fail", "an unauthenticated reply to a request signed with key 3 \\(AES128CMAC\\)"),
    auth_twin("auth/ef-then-mac", {"--misbehave", "auth-header-only-digest"}, "warn", "the digest does not cover the extension field"),
    auth_twin("auth/bad-digest", {"--misbehave", "auth-accept-bad-digest"}, "warn", "without a crypto-NAK.*a plain 48-byte reply"),
    auth_twin("auth/wrong-length-digest", {"--misbehave", "auth-accept-bad-digest"}, "warn", "without a crypto-NAK.*a plain 48-byte reply"),
    auth_twin("auth/key-id-0", {"--misbehave", "auth-accept-bad-digest"}, "warn", "without a crypto-NAK.*a plain 48-byte reply"),
    auth_twin("auth/symmetric-bad-digest", {"--symmetric", "reply", "--misbehave", "auth-accept-bad-digest"}, "fail", "a forged digest mobilised a symmetric association"),
    auth_twin("auth/md5", {}, "info", "accepts key 1 \\(MD5\\), which RFC 8573 deprecates"),
    nts_twin("nts/authenticated-reply", {"--misbehave", "nts-bad-tag"}, "fail", "not authenticated under the S2C key.*the tag does not verify"),
    nts_twin("nts/uid-echo", {"--misbehave", "nts-wrong-uid"}, "fail", "does not echo the Unique Identifier.*not ours"),
    nts_twin("nts/cookie-count", {"--misbehave", "nts-extra-cookie"}, "fail", "more new cookies than one plus the placeholders.*5 cookies"),
    nts_twin("nts/unauthenticated-placeholders", {"--misbehave", "nts-extra-cookie"}, "fail", "unauthenticated placeholders were counted.*3 cookies"),
    nts_twin("nts/cookies-encrypted", {"--misbehave", "nts-clear-cookies"}, "fail", "new cookies outside the ciphertext.*2 plain NTS Cookie"),
    nts_twin("nts/no-amplification", {"--misbehave", "nts-extra-cookie"}, "warn", "the reply is longer than the request"),
    nts_twin("nts/ke-cookie-accepted", {"--misbehave", "nts-ke-foreign-cookies"}, "fail", "refused a cookie key establishment had just given.*NTSN"),
    nts_twin("nts/cookie-reuse", {"--misbehave", "nts-plain-for-reused"}, "fail", "time for a reused cookie, not authenticated"),
    nts_twin("nts/bad-cookie", {"--misbehave", "nts-no-nak"}, "warn", "no reply to a request with a damaged cookie"),
    nts_twin("nts/bad-authenticator", {"--misbehave", "nts-time-for-bad-cookie"}, "warn", "damaged authenticator was answered with time, not an NTSN"),
    nts_twin("nts/nak-shape", {"--misbehave", "nts-nak-with-cookie"}, "fail", "the NTSN carries NTS fields it must not.*1 cookie"),
    nts_twin("nts/short-nonce", {"--misbehave", "nts-accept-short-nonce"}, "fail", "the server answered"),
    nts_twin("nts/uid-standalone", {"--misbehave", "nts-no-uid"}, "fail", "does not contain the request's Unique Identifier"),
    nts_twin("nts-ke/tls13-only", {"--misbehave", "nts-ke-tls12"}, "fail", "a TLS session was set up with a client that offered TLS 1.2 only"),
    nts_twin("nts-ke/alpn", {"--misbehave", "nts-ke-no-alpn"}, "fail", "did not select ALPN ntske/1.*no ALPN selected"),
    nts_twin("nts-ke/no-alpn-client", {"--misbehave", "nts-ke-no-alpn"}, "info", "serves a client that offered no ALPN"),
    nts_twin("nts-ke/end-of-message", {"--misbehave", "nts-ke-no-end"}, "fail", "does not end with one critical End of Message.*no End of Message"),
    nts_twin("nts-ke/next-protocol", {"--misbehave", "nts-ke-extra-protocol"}, "fail", "names a protocol the request did not offer.*protocol 32752"),
    nts_twin("nts-ke/aead-one", {"--misbehave", "nts-ke-two-aeads"}, "fail", "more than one AEAD algorithm.*AEAD_AES_SIV_CMAC_256 \\(15\\), AEAD 1 "),
    nts_twin("nts-ke/aead-offered", {"--misbehave", "nts-ke-any-aead"}, "warn", "chose an AEAD algorithm the client did not offer.*AEAD_AES_SIV_CMAC_256"),
    nts_twin("nts-ke/cookies", {"--misbehave", "nts-ke-no-cookies"}, "fail", "no New Cookie record"),
    nts_twin("nts-ke/unknown-critical", {"--misbehave", "nts-ke-ignore-critical"}, "fail", "no Error 0 for an unrecognized critical record"),
    nts_twin("nts-ke/client-error", {"--misbehave", "nts-ke-lenient"}, "warn", "no Error record for a request with an Error record.*record\\(s\\)"),
    nts_twin("nts-ke/client-warning", {"--misbehave", "nts-ke-lenient"}, "warn", "no Error record for a request with a Warning record"),
    nts_twin("nts-ke/bad-request", {"--misbehave", "nts-ke-lenient"}, "fail", "no Error 1 for a request without a Next Protocol record"),
    nts_twin("nts-ke/incomplete-request", {"--misbehave", "nts-ke-silent-timeout"}, "fail", "no Error 1 for a request without End of Message.*no response"),
    nts_twin("nts-ke/large-request", {"--misbehave", "nts-ke-small-requests"}, "fail", "no normal response to a 1024-octet request.*Error 1"),
    nts_twin("nts-ke/split-request", {"--misbehave", "nts-ke-first-read-only"}, "warn", "no normal response to a request in 3-octet TLS records"),
};
// clang-format on

// GoogleTest names a parameter by its case id.
inline void PrintTo(const Twin& t, std::ostream* os) {
  *os << t.case_id;
}

}  // namespace ntpkit::test
