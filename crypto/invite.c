/* Invitation secrets, proofs and codes (see invite.h). Every buffer that
 * holds the secret or the MAC key is wiped before it goes out of scope. */
#include "crypto/invite.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* A code is about 100 characters; anything near this is not one. */
#define CODE_INPUT_MAX 4096

static_assert(AM_INVITE_TAG_BYTES == crypto_generichash_BYTES, "BLAKE2b-256 tag");
static_assert(AM_INVITE_SECRET_BYTES >= crypto_generichash_KEYBYTES_MIN, "BLAKE2b key size");
static_assert(AM_INVITE_MAC_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX, "BLAKE2b key size");
static_assert(64 == crypto_generichash_BYTES_MAX, "BLAKE2b-512 output");
static_assert(AM_INVITE_PROOF_BYTES == 40, "proof = id[8] || tag[32]");
static_assert(sizeof AM_INVITE_CODE_PREFIX - 1 +
                      sodium_base64_ENCODED_LEN(AM_INVITE_RAW_MAX, B64_VARIANT) - 1 ==
                  AM_INVITE_CODE_MAX,
              "AM_INVITE_CODE_MAX is the longest code");

void am_wipe(void *p, size_t len) { sodium_memzero(p, len); }

/* The two kinds of code: node invitations and members' login codes. */
typedef struct code_kind {
  const char *context, *prefix, *noun, *other_prefix, *other_hint;
} code_kind;

static const code_kind invite_kind = {
    AM_INVITE_CONTEXT, AM_INVITE_CODE_PREFIX, "invitation", AM_LOGIN_CODE_PREFIX,
    "this is a member's login code, not a node invitation: the member runs amicale login CODE "
    "on their own computer"};
static const code_kind login_kind = {
    AM_LOGIN_CONTEXT, AM_LOGIN_CODE_PREFIX, "login", AM_INVITE_CODE_PREFIX,
    "this is a node invitation, not a login code: a node's administrator accepts it with "
    "amicale invite accept CODE"};

static void derive(const code_kind *k, const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                   uint8_t id[static AM_INVITE_ID_BYTES],
                   uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES]) {
  uint8_t d[64];
  crypto_generichash(d, sizeof d, (const uint8_t *)k->context, strlen(k->context), secret,
                     AM_INVITE_SECRET_BYTES);
  memcpy(id, d, AM_INVITE_ID_BYTES);
  memcpy(mac_key, d + 32, AM_INVITE_MAC_KEY_BYTES);
  sodium_memzero(d, sizeof d);
}

void am_invite_derive(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                      uint8_t id[static AM_INVITE_ID_BYTES],
                      uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES]) {
  derive(&invite_kind, secret, id, mac_key);
}

void am_login_derive(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                     uint8_t id[static AM_INVITE_ID_BYTES],
                     uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES]) {
  derive(&login_kind, secret, id, mac_key);
}

static void tag(const uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES],
                const uint8_t h[static AM_INVITE_HASH_BYTES], uint8_t out[static AM_INVITE_TAG_BYTES]) {
  crypto_generichash(out, AM_INVITE_TAG_BYTES, h, AM_INVITE_HASH_BYTES, mac_key,
                     AM_INVITE_MAC_KEY_BYTES);
}

static void proof_of(const code_kind *k, const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                     const uint8_t h[static AM_INVITE_HASH_BYTES],
                     uint8_t proof[static AM_INVITE_PROOF_BYTES]) {
  uint8_t key[AM_INVITE_MAC_KEY_BYTES];
  derive(k, secret, proof, key);
  tag(key, h, proof + AM_INVITE_ID_BYTES);
  sodium_memzero(key, sizeof key);
}

void am_invite_proof(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                     const uint8_t h[static AM_INVITE_HASH_BYTES],
                     uint8_t proof[static AM_INVITE_PROOF_BYTES]) {
  proof_of(&invite_kind, secret, h, proof);
}

void am_login_proof(const uint8_t secret[static AM_INVITE_SECRET_BYTES],
                    const uint8_t h[static AM_INVITE_HASH_BYTES],
                    uint8_t proof[static AM_INVITE_PROOF_BYTES]) {
  proof_of(&login_kind, secret, h, proof);
}

int am_invite_proof_check(const uint8_t id[static AM_INVITE_ID_BYTES],
                          const uint8_t mac_key[static AM_INVITE_MAC_KEY_BYTES],
                          const uint8_t h[static AM_INVITE_HASH_BYTES],
                          const uint8_t proof[static AM_INVITE_PROOF_BYTES]) {
  uint8_t want[AM_INVITE_PROOF_BYTES];
  memcpy(want, id, AM_INVITE_ID_BYTES);
  tag(mac_key, h, want + AM_INVITE_ID_BYTES);
  int same = sodium_memcmp(want, proof, sizeof want) == 0;
  sodium_memzero(want, sizeof want);
  return same ? 0 : AM_EINVAL;
}

int am_invite_secret_new(uint8_t secret[static AM_INVITE_SECRET_BYTES]) {
  if (am_crypto_init()) return AM_EINTERNAL;
  randombytes_buf(secret, AM_INVITE_SECRET_BYTES);
  return 0;
}

void am_invite_code_wipe(am_invite_code *c) {
  if (c) sodium_memzero(c, sizeof *c);
}

static_assert(AM_LOGIN_CODE_MAX < AM_INVITE_CODE_MAX, "login codes fit invitation buffers");

static int code_encode(const code_kind *k, const am_invite_code *c, char *out, size_t cap,
                       am_error *err) {
  /* The host is checked again: a code must decode. */
  am_addr a;
  size_t hl = strnlen(c->addr.host, sizeof c->addr.host);
  int rc = am_addr_from_host(c->addr.host, hl, c->addr.port, &a, err);
  if (rc) return rc;
  hl = strlen(a.host);
  uint8_t raw[AM_INVITE_RAW_MAX];
  size_t n = 0;
  raw[n++] = AM_INVITE_CODE_VERSION;
  memcpy(raw + n, c->secret, AM_INVITE_SECRET_BYTES), n += AM_INVITE_SECRET_BYTES;
  memcpy(raw + n, c->node_key, AM_PUBKEY_BYTES), n += AM_PUBKEY_BYTES;
  raw[n++] = (uint8_t)(a.port >> 8);
  raw[n++] = (uint8_t)a.port;
  memcpy(raw + n, a.host, hl), n += hl;
  size_t pl = strlen(k->prefix);
  memcpy(out, k->prefix, pl);
  sodium_bin2base64(out + pl, cap - pl, raw, n, B64_VARIANT);
  sodium_memzero(raw, sizeof raw);
  return 0;
}

int am_invite_code_encode(const am_invite_code *c, char out[static AM_INVITE_CODE_MAX + 1],
                          am_error *err) {
  return code_encode(&invite_kind, c, out, AM_INVITE_CODE_MAX + 1, err);
}

int am_login_code_encode(const am_invite_code *c, char out[static AM_LOGIN_CODE_MAX + 1],
                         am_error *err) {
  return code_encode(&login_kind, c, out, AM_LOGIN_CODE_MAX + 1, err);
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int code_decode(const code_kind *k, const char *text, am_invite_code *out,
                       am_error *err) {
  uint8_t raw[AM_INVITE_RAW_MAX];
  size_t raw_len = 0;
  int rc;
  am_invite_code c;
  char damaged[128];
  snprintf(damaged, sizeof damaged,
           "this %s code is damaged or incomplete: check it was copied whole", k->noun);
  memset(&c, 0, sizeof c);
  if (!text) text = "";
  size_t len = strlen(text);
  while (len && is_space(text[len - 1])) len--;
  while (len && is_space(*text)) text++, len--;
  size_t pl = strlen(k->prefix), ol = strlen(k->other_prefix);
  if (len == 0) {
    rc = am_fail(err, AM_EINVAL, "no %s code given (it starts with \"%s\")", k->noun, k->prefix);
    goto out;
  }
  if (len < pl || strncasecmp(text, k->prefix, pl) != 0) {
    uint8_t pk[AM_PUBKEY_BYTES];
    if (len >= ol && strncasecmp(text, k->other_prefix, ol) == 0)
      rc = am_fail(err, AM_EINVAL, "%s", k->other_hint);
    else if (k == &invite_kind && len == AM_PUBKEY_TEXT_LEN &&
             am_pubkey_from_text(text, pk, NULL) == 0)
      rc = am_fail(err, AM_EINVAL,
                   "this is a node key, not an invitation code: to add that node by its key, run "
                   "amicale peer add HOST:PORT KEY");
    else
      rc = am_fail(err, AM_EINVAL,
                   "this is not an Amicale %s code: a code starts with \"%s\"; check it "
                   "was copied whole",
                   k->noun, k->prefix);
    goto out;
  }
  if (len > CODE_INPUT_MAX) {
    rc = am_fail(err, AM_EINVAL, "%s (it is far too long)", damaged);
    goto out;
  }
  /* Spaces and line breaks inside are ignored (a mail program may wrap
   * the code); anything else outside base64url is damage. */
  if (sodium_base642bin(raw, sizeof raw, text + pl, len - pl, " \t\r\n", &raw_len, NULL,
                        B64_VARIANT) != 0) {
    rc = am_fail(err, AM_EINVAL, "%s", damaged);
    goto out;
  }
  if (raw_len >= 1 && raw[0] != AM_INVITE_CODE_VERSION) {
    if (raw[0] > AM_INVITE_CODE_VERSION)
      rc = am_fail(err, AM_ENEWER,
                   "this %s code was made by a newer version of Amicale (code version %u; "
                   "this version reads version %d): upgrade amicale, then %s",
                   k->noun, (unsigned)raw[0], AM_INVITE_CODE_VERSION,
                   k == &invite_kind ? "accept it again" : "log in again");
    else
      rc = am_fail(err, AM_EINVAL, "%s", damaged);
    goto out;
  }
  if (raw_len < AM_INVITE_RAW_MIN) {
    rc = am_fail(err, AM_EINVAL, "%s (it is too short)", damaged);
    goto out;
  }
  size_t n = 1;
  memcpy(c.secret, raw + n, AM_INVITE_SECRET_BYTES), n += AM_INVITE_SECRET_BYTES;
  memcpy(c.node_key, raw + n, AM_PUBKEY_BYTES), n += AM_PUBKEY_BYTES;
  uint16_t port = (uint16_t)(raw[n] << 8 | raw[n + 1]);
  n += 2;
  if (port == 0) {
    rc = am_fail(err, AM_EINVAL, "%s (its port is 0)", damaged);
    goto out;
  }
  am_error herr = {0};
  if (am_addr_from_host((const char *)raw + n, raw_len - n, port, &c.addr, &herr)) {
    rc = am_fail(err, AM_EINVAL, "%s (its address is not valid: %s)", damaged, herr.msg);
    goto out;
  }
  *out = c;
  rc = 0;
out:
  sodium_memzero(raw, sizeof raw);
  sodium_memzero(&c, sizeof c);
  if (rc) sodium_memzero(out, sizeof *out);
  return rc;
}

int am_invite_code_decode(const char *text, am_invite_code *out, am_error *err) {
  return code_decode(&invite_kind, text, out, err);
}

int am_login_code_decode(const char *text, am_invite_code *out, am_error *err) {
  return code_decode(&login_kind, text, out, err);
}
