/* The Amicale handshake over Noise XX (see handshake.h and
 * docs/PROTOCOL.md 14.2–14.3). Three messages:
 *   1  I -> R  e                 versions (plaintext, hashed)
 *   2  R -> I  e, ee, s, es      [version, identity, binding, versions]
 *   3  I -> R  s, se             [identity, binding, invitation | nil]
 * Each identity signs its Noise static public key once per run (the
 * binding); a receiver checks it against the static key Noise just proved,
 * so after message 2 the initiator knows who answered and after message 3
 * the responder knows who called. */
#include "crypto/handshake.h"

#include <sodium.h>
#include <string.h>

static const am_versions our_versions = {{AM_TRANSPORT_VERSION}, 1};

const char *am_hs_failure_text(int failure) {
  switch (failure) {
  case AM_HSF_NONE: return "no failure";
  case AM_HSF_NOISE: return "the handshake message does not authenticate (Noise refused it)";
  case AM_HSF_PAYLOAD: return "the handshake payload is malformed";
  case AM_HSF_BINDING: return "the identity signature over the session key is wrong";
  case AM_HSF_WRONG_KEY:
    return "a different node answered (its key is not the one configured for this peer)";
  case AM_HSF_VERSION: return "no transport version in common";
  case AM_HSF_STATE: return "handshake step out of turn";
  }
  return "handshake failed";
}

void am_hs_binding_message(const uint8_t static_pub[static 32],
                           uint8_t out[static AM_HS_BINDING_MSG_LEN]) {
  memcpy(out, AM_HS_BINDING_CONTEXT, sizeof AM_HS_BINDING_CONTEXT); /* with its NUL */
  memcpy(out + sizeof AM_HS_BINDING_CONTEXT, static_pub, 32);
}

static int local_init(am_hs_local *l, const am_identity *id, const uint8_t *static_private) {
  memset(l, 0, sizeof *l);
  if (!id->sk) return AM_EUSAGE;
  int rc = static_private ? am_noise_keypair_from_private(&l->s, static_private)
                          : am_noise_keypair_generate(&l->s);
  if (rc) return rc;
  uint8_t msg[AM_HS_BINDING_MSG_LEN];
  am_hs_binding_message(l->s.pub, msg);
  memcpy(l->identity, id->pk, AM_PUBKEY_BYTES);
  return am_sign(id, msg, sizeof msg, l->binding);
}

int am_hs_local_init(am_hs_local *l, const am_identity *id) { return local_init(l, id, NULL); }

int am_hs_local_init_with(am_hs_local *l, const am_identity *id,
                          const uint8_t static_private[static 32]) {
  return local_init(l, id, static_private);
}

void am_hs_local_wipe(am_hs_local *l) { sodium_memzero(l, sizeof *l); }

static int noise_init(am_hs *hs, const am_noise_keypair *e) {
  am_noise_hs_config cfg = {
      .protocol = AM_HS_PROTOCOL,
      .initiator = hs->initiator,
      .prologue = (const uint8_t *)AM_HS_PROLOGUE,
      .prologue_len = sizeof AM_HS_PROLOGUE - 1,
      .s = &hs->local->s,
      .e = e,
  };
  return am_noise_hs_init(&hs->noise, &cfg);
}

static int start(am_hs *hs, const am_hs_local *local, bool initiator) {
  memset(hs, 0, sizeof *hs);
  hs->local = local;
  hs->initiator = initiator;
  return noise_init(hs, NULL);
}

int am_hs_fix_ephemeral(am_hs *hs, const uint8_t e[static 32]) {
  if (hs->step != 0 || hs->failure) return AM_EUSAGE;
  am_noise_keypair kp;
  int rc = am_noise_keypair_from_private(&kp, e);
  if (!rc) {
    am_noise_hs_wipe(&hs->noise);
    rc = noise_init(hs, &kp);
  }
  sodium_memzero(&kp, sizeof kp);
  return rc;
}

int am_hs_start_initiator(am_hs *hs, const am_hs_local *local,
                          const uint8_t expected[static AM_PUBKEY_BYTES],
                          am_hs_proof_fn proof_fn, void *proof_arg) {
  int rc = start(hs, local, true);
  memcpy(hs->expected, expected, AM_PUBKEY_BYTES);
  hs->proof_fn = proof_fn;
  hs->proof_arg = proof_arg;
  return rc;
}

int am_hs_start_responder(am_hs *hs, const am_hs_local *local) {
  return start(hs, local, false);
}

bool am_hs_done(const am_hs *hs) { return hs->step == 3 && !hs->failure; }

bool am_hs_wants_write(const am_hs *hs) {
  if (hs->failure) return false;
  return hs->initiator ? (hs->step == 0 || hs->step == 2) : hs->step == 1;
}

size_t am_hs_read_min(const am_hs *hs) {
  return hs->step == 0 ? AM_HS_MSG1_MIN : hs->step == 1 ? AM_HS_MSG2_MIN : AM_HS_MSG3_MIN;
}

size_t am_hs_read_max(const am_hs *hs) {
  return hs->step == 0 ? AM_HS_MSG1_MAX : hs->step == 1 ? AM_HS_MSG2_MAX : AM_HS_MSG3_MAX;
}

/* The first failure is the reason: a later call on the dead state (say,
 * trying message 3 after AM_HSF_WRONG_KEY) is refused as out of turn but
 * must not replace it. err always gets this call's sentence (a caller may
 * reuse one am_error); pass err NULL when a decoder has just written a
 * better one. */
static int fail(am_hs *hs, int failure, int rc, am_error *err, const char *detail) {
  if (!hs->failure) hs->failure = (uint8_t)failure;
  if (err) am_fail(err, rc, "%s", detail ? detail : am_hs_failure_text(failure));
  return rc;
}

int am_hs_write(am_hs *hs, uint8_t *out, size_t cap, size_t *len, am_error *err) {
  if (!am_hs_wants_write(hs) || cap < 2) return fail(hs, AM_HSF_STATE, AM_EUSAGE, err, NULL);
  am_buf payload = {0};
  int rc;
  if (hs->step == 0) {
    rc = am_hs1_encode(&our_versions, &payload);
  } else if (hs->step == 1) {
    am_hs_proof p = {.version = hs->version, .versions = our_versions};
    memcpy(p.identity, hs->local->identity, 32);
    memcpy(p.binding, hs->local->binding, 64);
    rc = am_hs2_encode(&p, &payload);
  } else {
    am_hs_proof p = {0};
    memcpy(p.identity, hs->local->identity, 32);
    memcpy(p.binding, hs->local->binding, 64);
    if (hs->proof_fn) {
      uint8_t h[64];
      am_noise_hs_get_hash(&hs->noise, h);
      rc = hs->proof_fn(hs->proof_arg, h, p.invitation);
      if (rc) return fail(hs, AM_HSF_STATE, rc, err, "cannot compute the invitation proof");
      p.has_invitation = true;
    }
    rc = am_hs3_encode(&p, &payload);
    sodium_memzero(&p, sizeof p);
  }
  if (rc) {
    am_buf_free(&payload);
    return fail(hs, AM_HSF_STATE, rc, err, "out of memory");
  }
  size_t n = 0;
  rc = am_noise_hs_write(&hs->noise, (const uint8_t *)payload.data, payload.len, out + 2,
                         cap - 2, &n);
  am_buf_free(&payload);
  if (rc) return fail(hs, AM_HSF_NOISE, rc, err, NULL);
  out[0] = (uint8_t)(n >> 8);
  out[1] = (uint8_t)n;
  *len = n + 2;
  hs->step++;
  return 0;
}

/* The other side's identity, proven: its binding signs the static key
 * Noise just authenticated. */
static int check_binding(am_hs *hs, const am_hs_proof *p, am_error *err) {
  const uint8_t *rs = am_noise_hs_remote_static(&hs->noise);
  if (!rs) return fail(hs, AM_HSF_STATE, AM_EINTERNAL, err, NULL);
  uint8_t msg[AM_HS_BINDING_MSG_LEN];
  am_hs_binding_message(rs, msg);
  if (am_verify(p->identity, msg, sizeof msg, p->binding))
    return fail(hs, AM_HSF_BINDING, AM_EINVAL, err, NULL);
  memcpy(hs->remote, p->identity, AM_PUBKEY_BYTES);
  return 0;
}

int am_hs_read(am_hs *hs, const uint8_t *msg, size_t len, am_error *err) {
  if (hs->failure || am_hs_wants_write(hs) || hs->step >= 3)
    return fail(hs, AM_HSF_STATE, AM_EUSAGE, err, NULL);
  if (len < am_hs_read_min(hs) || len > am_hs_read_max(hs))
    return fail(hs, AM_HSF_NOISE, AM_EINVAL, err, "handshake message of a wrong length");
  if (hs->step == 2) am_noise_hs_get_hash(&hs->noise, hs->h_before_3);
  uint8_t payload[AM_HS_MSG_MAX];
  size_t plen = 0;
  int rc = am_noise_hs_read(&hs->noise, msg, len, payload, sizeof payload, &plen);
  if (rc) return fail(hs, AM_HSF_NOISE, AM_EINVAL, err, NULL);
  am_hs_proof p;
  if (hs->step == 0) {
    am_versions vs;
    if (am_hs1_decode(payload, plen, &vs, err))
      return fail(hs, AM_HSF_PAYLOAD, AM_EINVAL, NULL, NULL); /* err: the decoder's */
    hs->remote_versions = vs;
    hs->version = am_versions_pick(&our_versions, &vs);
    /* With no version in common the responder still answers (version 0,
     * its own list) so the initiator can say which versions exist; it will
     * not get a message 3. */
  } else if (hs->step == 1) {
    if (am_hs2_decode(payload, plen, &p, err))
      return fail(hs, AM_HSF_PAYLOAD, AM_EINVAL, NULL, NULL); /* err: the decoder's */
    if ((rc = check_binding(hs, &p, err))) return rc;
    if (sodium_memcmp(p.identity, hs->expected, AM_PUBKEY_BYTES) != 0)
      return fail(hs, AM_HSF_WRONG_KEY, AM_EINVAL, err, NULL);
    hs->remote_versions = p.versions;
    if (p.version == 0 || p.version != am_versions_pick(&our_versions, &p.versions))
      return fail(hs, AM_HSF_VERSION, AM_EINVAL, err, NULL);
    hs->version = p.version;
  } else {
    if (am_hs3_decode(payload, plen, &p, err))
      return fail(hs, AM_HSF_PAYLOAD, AM_EINVAL, NULL, NULL); /* err: the decoder's */
    if ((rc = check_binding(hs, &p, err))) return rc;
    if ((hs->has_invitation = p.has_invitation)) memcpy(hs->invitation, p.invitation, 40);
    if (hs->version == 0) return fail(hs, AM_HSF_VERSION, AM_EINVAL, err, NULL);
  }
  sodium_memzero(payload, sizeof payload);
  hs->step++;
  return 0;
}

bool am_hs_invitation(const am_hs *hs, const uint8_t **proof, const uint8_t **h) {
  if (!am_hs_done(hs) || hs->initiator || !hs->has_invitation) return false;
  *proof = hs->invitation;
  *h = hs->h_before_3;
  return true;
}

int am_hs_split(am_hs *hs, am_noise_cipher *send, am_noise_cipher *recv) {
  if (!am_hs_done(hs)) return AM_EUSAGE;
  uint8_t h[64];
  am_noise_cipher c1, c2;
  int rc = am_noise_hs_split(&hs->noise, &c1, &c2, h);
  if (rc) return rc;
  /* am_noise_hs_split gives (send, recv) from this side's view already. */
  *send = c1;
  *recv = c2;
  sodium_memzero(&c1, sizeof c1);
  sodium_memzero(&c2, sizeof c2);
  return 0;
}

void am_hs_wipe(am_hs *hs) {
  am_noise_hs_wipe(&hs->noise);
  sodium_memzero(hs, sizeof *hs);
}
