/* Writes (or, with --check, compares with the committed file) the
 * transport test vectors of docs/PROTOCOL.md section 14: complete sessions
 * between two fixed identities with fixed static and ephemeral keys, byte
 * for byte — the three handshake messages and their payloads, the
 * handshake hash, then session messages and the frames carrying them (one
 * long enough to be cut in two chunks). A second case redeems an
 * invitation. Everything is deterministic (Ed25519 and the AEAD are; the
 * Noise keys are given), so the file is reproduced exactly.
 *
 * The bytes come from the project's own code (crypto/handshake.c,
 * crypto/channel.c, proto/session.c); tests/interop/amicale_client.py, an
 * implementation written from PROTOCOL.md alone, checks them
 * independently.
 *
 * usage: gen_transport_vectors FILE            write FILE
 *        gen_transport_vectors --check FILE    exit 1 if FILE differs */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/channel.h"
#include "crypto/handshake.h"
#include "crypto/invite.h"
#include "proto/session.h"

static void die(const char *what) {
  fprintf(stderr, "gen_transport_vectors: %s\n", what);
  exit(2);
}

static json_t *hex(const uint8_t *p, size_t n) {
  char *s = malloc(2 * n + 1);
  sodium_bin2hex(s, 2 * n + 1, p, n);
  json_t *j = json_string(s);
  free(s);
  return j;
}

/* Bytes b, b+step, ... (mod 256). */
static void fill(uint8_t *out, size_t n, uint8_t b, int step) {
  for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(b + step * (int)i);
}

typedef struct side {
  am_identity id;
  am_hs_local local;
  uint8_t e[32];
  const char *name;
} side;

static json_t *side_json(const side *s, const uint8_t seed[32]) {
  am_noise_keypair e;
  am_noise_keypair_from_private(&e, s->e);
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "identity_seed", hex(seed, 32),
                   "identity", hex(s->id.pk, 32), "static_private", hex(s->local.s.priv, 32),
                   "static_public", hex(s->local.s.pub, 32), "ephemeral_private", hex(s->e, 32),
                   "ephemeral_public", hex(e.pub, 32), "binding", hex(s->local.binding, 64));
}

static void make_side(side *s, uint8_t seed_first, uint8_t static_first, uint8_t e_first,
                      uint8_t seed[32]) {
  fill(seed, 32, seed_first, 1);
  s->id.sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!s->id.sk || crypto_sign_seed_keypair(s->id.pk, s->id.sk, seed)) die("key");
  uint8_t st[32];
  fill(st, 32, static_first, 1);
  if (am_hs_local_init_with(&s->local, &s->id, st)) die("static key");
  fill(s->e, 32, e_first, 1);
}

static const uint8_t *proof_secret;

static int proof(void *arg, const uint8_t h[static 64], uint8_t out[static 40]) {
  (void)arg;
  am_invite_proof(proof_secret, h, out);
  return 0;
}

/* A session message sealed by one side: its msgpack and its frames. */
static json_t *session_msg(const char *from, am_chan *tx, am_chan *rx, const am_msg *m,
                           const uint8_t *raw, size_t rawlen) {
  am_buf plain = {0}, wire = {0};
  if (raw) am_buf_append(&plain, raw, rawlen);
  else if (am_msg_encode(m, &plain, NULL)) die("encode");
  if (am_chan_seal(tx, (uint8_t *)plain.data, plain.len, &wire)) die("seal");
  /* The other side opens it, frame by frame, and gets the message back. */
  size_t off = 0;
  int got = 0;
  while (off < wire.len) {
    size_t n = (size_t)(uint8_t)wire.data[off] << 8 | (uint8_t)wire.data[off + 1];
    uint8_t *f = malloc(n);
    memcpy(f, wire.data + off + 2, n);
    const uint8_t *msg;
    size_t mlen;
    int rc = am_chan_open(rx, f, n, &msg, &mlen);
    if (rc < 0) die("open");
    if (rc == 1) {
      if (mlen != plain.len || memcmp(msg, plain.data, mlen)) die("round trip");
      got = 1;
    }
    free(f);
    off += 2 + n;
  }
  if (!got) die("incomplete");
  json_t *j = json_pack("{s:s, s:o, s:o}", "from", from, "message",
                        hex((uint8_t *)plain.data, plain.len), "wire",
                        hex((uint8_t *)wire.data, wire.len));
  am_buf_free(&plain);
  am_buf_free(&wire);
  return j;
}

static json_t *one_case(const char *name, const uint8_t *invite_secret) {
  side in = {.name = "initiator"}, re = {.name = "responder"};
  uint8_t seed_i[32], seed_r[32];
  make_side(&in, 0x00, 0x40, 0x80, seed_i);
  make_side(&re, 0x20, 0x60, 0xa0, seed_r);
  am_hs hi, hr;
  proof_secret = invite_secret;
  if (am_hs_start_initiator(&hi, &in.local, re.id.pk, invite_secret ? proof : NULL, NULL) ||
      am_hs_start_responder(&hr, &re.local) || am_hs_fix_ephemeral(&hi, in.e) ||
      am_hs_fix_ephemeral(&hr, re.e))
    die("start");
  json_t *hs = json_array();
  /* The plaintext payloads, as section 14.2 builds them. */
  am_versions v1 = {{1}, 1};
  am_buf p1 = {0}, p2 = {0}, p3 = {0};
  am_hs_proof r2 = {.version = 1, .versions = v1}, i3 = {0};
  memcpy(r2.identity, re.id.pk, 32);
  memcpy(r2.binding, re.local.binding, 64);
  memcpy(i3.identity, in.id.pk, 32);
  memcpy(i3.binding, in.local.binding, 64);
  am_hs1_encode(&v1, &p1);
  am_hs2_encode(&r2, &p2);
  am_hs *order[3][2] = {{&hi, &hr}, {&hr, &hi}, {&hi, &hr}};
  am_buf *payloads[3] = {&p1, &p2, &p3};
  for (int k = 0; k < 3; k++) {
    if (k == 2) {
      uint8_t h[64];
      am_noise_hs_get_hash(&hi.noise, h);
      if ((i3.has_invitation = invite_secret != NULL)) am_invite_proof(invite_secret, h, i3.invitation);
      am_hs3_encode(&i3, &p3);
    }
    uint8_t wire[AM_HS_MSG_MAX + 2];
    size_t n;
    am_error err = {0};
    if (am_hs_write(order[k][0], wire, sizeof wire, &n, &err)) die(err.msg);
    if (am_hs_read(order[k][1], wire + 2, n - 2, &err)) die(err.msg);
    json_array_append_new(hs, json_pack("{s:s, s:o, s:o}", "from",
                                        k == 1 ? "responder" : "initiator", "payload",
                                        hex((uint8_t *)payloads[k]->data, payloads[k]->len),
                                        "wire", hex(wire, n)));
  }
  if (!am_hs_done(&hi) || !am_hs_done(&hr)) die("not done");
  uint8_t hash[64], hash2[64];
  am_noise_hs_get_hash(&hi.noise, hash);
  am_noise_hs_get_hash(&hr.noise, hash2);
  if (memcmp(hash, hash2, 64)) die("hashes differ");
  const uint8_t *pr, *hh;
  if (invite_secret && !am_hs_invitation(&hr, &pr, &hh)) die("no invitation proof");
  am_noise_cipher itx, irx, rtx, rrx;
  am_hs_split(&hi, &itx, &irx);
  am_hs_split(&hr, &rtx, &rrx);
  am_chan ci, cr;
  am_chan_init(&ci, &itx, &irx, AM_MSG_MAX);
  am_chan_init(&cr, &rtx, &rrx, AM_MSG_MAX);

  json_t *ses = json_array();
  am_msg m = {.type = AM_MSG_HELLO};
  snprintf(m.hello.name, sizeof m.hello.name, "École Initiatrice");
  m.hello.kind = 0;
  snprintf(m.hello.software, sizeof m.hello.software, "amicale/0.1.0");
  snprintf(m.hello.caps[0], sizeof m.hello.caps[0], "announce");
  m.hello.ncaps = 1;
  m.hello.time = 1767225600;
  snprintf(m.hello.address, sizeof m.hello.address, "a.example:7400");
  json_array_append_new(ses, session_msg("initiator", &ci, &cr, &m, NULL, 0));
  snprintf(m.hello.name, sizeof m.hello.name, "Société Répondante");
  m.hello.kind = 1;
  m.hello.address[0] = 0;
  json_array_append_new(ses, session_msg("responder", &cr, &ci, &m, NULL, 0));
  am_msg ping = {.type = AM_MSG_PING, .token = 1}, pong = {.type = AM_MSG_PONG, .token = 1};
  json_array_append_new(ses, session_msg("initiator", &ci, &cr, &ping, NULL, 0));
  json_array_append_new(ses, session_msg("responder", &cr, &ci, &pong, NULL, 0));
  /* A message of an unknown type, 70,000 bytes: two chunks (first case
   * only: the file stays small). */
  enum { BIG = 70000 };
  if (!invite_secret) {
    uint8_t *big = malloc(BIG);
    big[0] = 0x92;
    big[1] = 0x3f;
    big[2] = 0xc6; /* bin32 (the length needs more than 16 bits) */
    uint32_t bl = BIG - 7;
    big[3] = (uint8_t)(bl >> 24), big[4] = (uint8_t)(bl >> 16), big[5] = (uint8_t)(bl >> 8),
    big[6] = (uint8_t)bl;
    fill(big + 7, BIG - 7, 0, 1);
    json_array_append_new(ses, session_msg("initiator", &ci, &cr, NULL, big, BIG));
    free(big);
    am_msg err = {.type = AM_MSG_ERROR, .code = AM_MSGERR_UNKNOWN_MESSAGE};
    snprintf(err.text, sizeof err.text, "message type 63 is unknown here");
    json_array_append_new(ses, session_msg("responder", &cr, &ci, &err, NULL, 0));
  }
  am_msg bye = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
  snprintf(bye.text, sizeof bye.text, "the node is stopping");
  json_array_append_new(ses, session_msg("initiator", &ci, &cr, &bye, NULL, 0));

  json_t *c = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "name", name, "initiator",
                        side_json(&in, seed_i), "responder", side_json(&re, seed_r),
                        "handshake", hs, "handshake_hash", hex(hash, 64), "session", ses);
  if (invite_secret) {
    uint8_t id[8], mac[32];
    am_invite_derive(invite_secret, id, mac);
    json_object_set_new(c, "invitation_secret", hex(invite_secret, 16));
    json_object_set_new(c, "invitation_id", hex(id, 8));
    json_object_set_new(c, "invitation_mac_key", hex(mac, 32));
    json_object_set_new(c, "invitation_proof", hex(pr, 40));
  }
  am_chan_free(&ci);
  am_chan_free(&cr);
  am_buf_free(&p1), am_buf_free(&p2), am_buf_free(&p3);
  am_hs_local_wipe(&in.local), am_hs_local_wipe(&re.local);
  am_identity_wipe(&in.id), am_identity_wipe(&re.id);
  return c;
}

int main(int argc, char **argv) {
  bool check = argc == 3 && !strcmp(argv[1], "--check");
  if (argc != 2 && !check) {
    fprintf(stderr, "usage: gen_transport_vectors [--check] FILE\n");
    return 2;
  }
  const char *path = argv[argc - 1];
  if (sodium_init() < 0) die("libsodium");
  uint8_t secret[16];
  fill(secret, 16, 0xc0, 1);
  json_t *doc = json_pack(
      "{s:s, s:s, s:s, s:[o, o]}", "description",
      "Amicale transport version 1 (docs/PROTOCOL.md section 14): whole sessions with fixed "
      "keys. Identities are Ed25519 keys from the given seeds; static and ephemeral keys are "
      "X25519 private keys. 'wire' is what goes on the TCP stream (handshake messages with "
      "their 2-byte length, frames), 'payload' and 'message' the plaintext.",
      "protocol", AM_HS_PROTOCOL, "prologue", AM_HS_PROLOGUE, "cases",
      one_case("session", NULL), one_case("invitation", secret));
  char *text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  size_t n = strlen(text);
  if (check) {
    FILE *f = fopen(path, "rb");
    char *old = malloc(n + 2);
    size_t got = f ? fread(old, 1, n + 2, f) : 0;
    if (f) fclose(f);
    bool same = got == n + 1 && memcmp(old, text, n) == 0 && old[n] == '\n';
    free(old);
    free(text);
    if (!same) {
      fprintf(stderr, "%s differs from what the code produces: the transport changed (or run "
                      "gen_transport_vectors %s to rewrite it, if the change is intended)\n",
              path, path);
      return 1;
    }
    printf("transport vectors: %s reproduced byte for byte\n", path);
    return 0;
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fclose(f)) die("write");
  free(text);
  return 0;
}
