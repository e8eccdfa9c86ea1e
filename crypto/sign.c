/* Announcement ids and signatures (see sign.h). */
#include "crypto/sign.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(AM_ANN_ID_BYTES == crypto_generichash_BYTES, "BLAKE2b-256 ids");
_Static_assert(AM_ANN_SIG_BYTES == crypto_sign_BYTES, "Ed25519 signatures");
_Static_assert(AM_ANN_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 keys");

#define CONTEXT_LEN (sizeof AM_ANN_SIG_CONTEXT) /* with its zero byte */

void am_ann_hash(const uint8_t *signed_part, size_t len,
                 uint8_t id[static AM_ANN_ID_BYTES]) {
  crypto_generichash(id, AM_ANN_ID_BYTES, signed_part, len, NULL, 0);
}

void am_set_fingerprint(const uint8_t sum[static 32], uint64_t count,
                        uint8_t fp[static AM_FP_BYTES]) {
  if (count == 0) {
    memset(fp, 0, AM_FP_BYTES);
    return;
  }
  uint8_t in[40];
  memcpy(in, sum, 32);
  for (int i = 0; i < 8; i++) in[32 + i] = (uint8_t)(count >> (8 * i));
  crypto_generichash(fp, AM_FP_BYTES, in, sizeof in, NULL, 0);
}

void am_hashkey_init(uint8_t key[static 16]) { crypto_shorthash_keygen(key); }

uint64_t am_keyed_hash(const uint8_t key[static 16], const uint8_t *p, size_t n) {
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, p, n, key);
  uint64_t v;
  memcpy(&v, h, sizeof v);
  return v;
}

/* Ed25519 signs whole messages, so the context and the signed part are
 * joined in one buffer. Announcements are at most 64 KiB. */
static uint8_t *with_context(const uint8_t *p, size_t len) {
  uint8_t *m = malloc(CONTEXT_LEN + len);
  if (!m) return NULL;
  memcpy(m, AM_ANN_SIG_CONTEXT, CONTEXT_LEN);
  if (len) memcpy(m + CONTEXT_LEN, p, len);
  return m;
}

int am_ann_seal(am_ann *a, const am_identity *id, am_buf *out, am_error *err) {
  if (!id->sk) return am_fail(err, AM_EUSAGE, "no secret key to sign with");
  memcpy(a->origin, id->pk, AM_ANN_KEY_BYTES);
  int rc = am_ann_check(a, err);
  if (rc) return rc;
  am_buf sp = {0};
  if ((rc = am_ann_encode_signed(a, &sp))) goto out;
  /* The envelope adds its array byte, the bin header of the signed part
   * and the 66 bytes of the signature. */
  size_t whole = 1 + (sp.len < 256 ? 2 : sp.len < 65536 ? 3 : 5) + sp.len + 2 + AM_ANN_SIG_BYTES;
  if (whole > AM_ANN_MAX_BYTES) {
    rc = am_fail(err, AM_EINVAL, "announcement would be %zu bytes (at most %d)", whole,
                 AM_ANN_MAX_BYTES);
    goto out;
  }
  uint8_t *m = with_context((const uint8_t *)sp.data, sp.len);
  if (!m) { rc = AM_ENOMEM; goto out; }
  crypto_sign_detached(a->sig, NULL, m, CONTEXT_LEN + sp.len, id->sk);
  free(m);
  am_ann_hash((const uint8_t *)sp.data, sp.len, a->id);
  rc = am_ann_envelope((const uint8_t *)sp.data, sp.len, a->sig, out);
out:
  am_buf_free(&sp);
  if (rc == AM_ENOMEM) am_fail(err, rc, "out of memory signing an announcement");
  return rc;
}

int am_ann_verify(const am_ann *a, const uint8_t *p, size_t len) {
  const uint8_t *sp, *sig;
  size_t n;
  if (am_ann_span(p, len, &sp, &n, &sig)) return AM_EINVAL;
  uint8_t *m = with_context(sp, n);
  if (!m) return AM_ENOMEM;
  int ok = crypto_sign_verify_detached(sig, m, CONTEXT_LEN + n, a->origin);
  free(m);
  return ok == 0 ? 0 : AM_EINVAL;
}

int am_ann_open(const uint8_t *p, size_t len, am_ann *a, int *reason,
                am_error *err) {
  int rc = am_ann_decode(p, len, a, reason, err);
  if (rc) return rc;
  const uint8_t *sp, *sig;
  size_t n;
  am_ann_span(p, len, &sp, &n, &sig);
  am_ann_hash(sp, n, a->id);
  rc = am_ann_verify(a, p, len);
  if (rc) {
    am_ann_free(a);
    if (rc == AM_ENOMEM) return am_fail(err, rc, "out of memory verifying an announcement");
    *reason = AM_REJ_BAD_SIGNATURE;
    return am_fail(err, AM_EINVAL, "signature does not match the origin's key");
  }
  return 0;
}
