/* libFuzzer target for announcements, from the bytes a peer sends to the
 * store: framing (am_ann_frame), decoding (am_ann_decode), opening
 * (am_ann_open: decode, hash, verify) and ingest into a real LMDB store
 * (am_ann_ingest, then pruning). The input is a stream of concatenated
 * envelopes, as in a file or on a connection; every framed envelope goes
 * through all of these, in one write transaction per input.
 *
 * Checked on every envelope (__builtin_trap on a violation):
 *  - a refusal is clean: AM_EINVAL, a reason of the decoder's set, a
 *    message, and an empty announcement left behind;
 *  - what the decoder accepts is canonical: encoding it again (signed part,
 *    then the envelope with the decoded signature) gives exactly the input
 *    bytes; it passes am_ann_check and every field has a text form;
 *  - am_ann_open agrees with am_ann_decode and only adds bad-signature;
 *  - ingest gives the same verdict, and what it stores reads back: the
 *    exact bytes under the id, the object's slot at that version, and a
 *    clean decode.
 *
 * The fuzzer cannot forge signatures, so a mutated seed is always refused
 * as bad-signature and would never reach the ordering rules. Envelopes that
 * decode but fail verification are therefore also given to am_ann_apply
 * (the ingest core after verification), as if their origin had signed
 * them: a trusted node may sign anything the decoder accepts, so the store
 * must cope with all of it.
 *
 * The store is opened once, lazily (the replay build has no
 * LLVMFuzzerInitialize), in a mkdtemp directory removed at exit. Its own
 * node key (seed 20 21 .. 3f) is loaded from a key file written there, and
 * it trusts the corpus key (seed 00 01 .. 1f) that signs the seeds of
 * fuzz/corpus/announce (fuzz/gen_corpus_announce.c). Ingest runs at the
 * fixed clock FUZZ_NOW, so the seeds are neither expired nor from the
 * future whenever the fuzzer runs. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/identity.h"
#include "crypto/sign.h"
#include "proto/announce.h"
#include "store/announcements.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the line first: the optimiser merges the traps of one function. */
#define ASSERT(c)                                                         \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "fuzz_announce.c:%d: check failed: %s\n", __LINE__, #c); \
      __builtin_trap();                                                   \
    }                                                                     \
  } while (0)

#define FUZZ_NOW INT64_C(1790000000) /* 2026-09-21T14:13:20Z; as in gen_corpus_announce.c */

/* am_store_write aborts the transaction when the function returns non-zero.
 * Each input's transaction is aborted with this code (positive: never an
 * AM_E* code), so every input meets the same store, holding only the trust
 * list: a crash then reproduces from its input alone, and the file does
 * not grow across millions of runs. Committing would make a finding depend
 * on everything run before it. */
#define ROLLBACK 1

/* The corpus key: Ed25519 public key of the seed 00 01 .. 1f (the known
 * answer of tests/unit/test_crypto.c). */
static const uint8_t corpus_pk[AM_ANN_KEY_BYTES] = {
    0x03, 0xa1, 0x07, 0xbf, 0xf3, 0xce, 0x10, 0xbe, 0x1d, 0x70, 0xdd,
    0x18, 0xe7, 0x4b, 0xc0, 0x99, 0x67, 0xe4, 0xd6, 0x30, 0x9b, 0xa5,
    0x0d, 0x5f, 0x1d, 0xdc, 0x86, 0x64, 0x12, 0x55, 0x31, 0xb8};

/* This node's key file: seed 20 21 .. 3f and its public key, as printed by
 * gen_corpus_announce. identity.h has no way to make a key from a given
 * seed, and a fixed key keeps runs reproducible; am_identity_load checks
 * the public key against the seed, so a typo here fails at start-up. */
static const char own_key_file[] =
    "# Amicale node secret key: keep private, back up safely.\n"
    "amicale-secret-key-v1 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8prLrhQbzK8L"
    "IuGpTTTQvHNh5SbQv-EsiXlLyTIpZt1w\n";

static char dir[4096];
static am_store *store;
static am_identity own;
static bool verbose; /* AMICALE_FUZZ_VERBOSE set: print each verdict (seed upkeep) */

static void path_in(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

/* Removes what setup created (and nothing else: no recursive delete). */
static void cleanup(void) {
  char p[4200];
  am_store_close(store);
  store = NULL;
  am_identity_wipe(&own);
  static const char *const files[] = {"store/data.mdb", "store/lock.mdb", "node.key"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    path_in(p, sizeof p, files[i]);
    unlink(p);
  }
  path_in(p, sizeof p, "store");
  rmdir(p);
  rmdir(dir);
}

static void fail_setup(const char *what, const am_error *err) {
  fprintf(stderr, "fuzz_announce: %s: %s\n", what, err ? err->msg : "");
  abort();
}

static int trust_corpus_key(am_txn *t, void *arg) {
  am_trust tr = {.added = FUZZ_NOW};
  memcpy(tr.key, corpus_pk, sizeof tr.key);
  snprintf(tr.name, sizeof tr.name, "fuzz corpus");
  return am_trust_add(t, &tr, NULL, arg);
}

static void setup(void) {
  am_error err = {0, ""};
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/amicale-fuzz-announce-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) fail_setup("mkdtemp", NULL);
  atexit(cleanup);
  verbose = getenv("AMICALE_FUZZ_VERBOSE") != NULL;
  char key[4200];
  path_in(key, sizeof key, "node.key");
  int fd = open(key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  size_t n = sizeof own_key_file - 1;
  if (fd < 0 || write(fd, own_key_file, n) != (ssize_t)n || close(fd) != 0)
    fail_setup("writing the key file", NULL);
  if (am_identity_load(&own, key, &err) != 0) fail_setup("loading the key", &err);
  am_store_opts o = {.create = true};
  if (am_store_open(&store, dir, &o, &err) != 0) fail_setup("opening the store", &err);
  am_store_set_signer(store, &own);
  if (am_store_write(store, trust_corpus_key, &err, &err) != 0)
    fail_setup("trusting the corpus key", &err);
}

static bool empty(const am_ann *a) {
  for (uint32_t f = 0; f < AM_ANN_MAX_FIELDS; f++) {
    const am_aval *v = &a->body[f];
    if (v->set || v->s || v->l.n || v->l.v) return false;
  }
  return true;
}

static bool same_bytes(const void *a, size_t alen, const void *b, size_t blen) {
  return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool same_header(const am_ann *a, const am_ann *b) {
  return a->kind == b->kind && memcmp(a->origin, b->origin, AM_ANN_KEY_BYTES) == 0 &&
         a->object == b->object && a->version == b->version && a->created == b->created &&
         a->expires == b->expires && memcmp(a->sig, b->sig, AM_ANN_SIG_BYTES) == 0;
}

/* What the decoder accepted: canonical bytes, rules, text forms. */
static void check_decoded(const am_ann *a, const uint8_t *p, size_t len) {
  am_buf sp = {0}, env = {0};
  ASSERT(am_ann_encode_signed(a, &sp) == 0);
  ASSERT(am_ann_envelope((const uint8_t *)sp.data, sp.len, a->sig, &env) == 0);
  ASSERT(same_bytes(env.data, env.len, p, len)); /* canonical form */

  const uint8_t *s, *sig;
  size_t n;
  ASSERT(am_ann_span(p, len, &s, &n, &sig) == 0);
  ASSERT(same_bytes(s, n, sp.data, sp.len));
  ASSERT(memcmp(sig, a->sig, AM_ANN_SIG_BYTES) == 0);
  ASSERT(am_ann_check(a, NULL) == 0);
  ASSERT(am_ann_same_content(a, a));
  for (uint32_t f = 0; f < am_ann_kinds[a->kind].nfields; f++) {
    am_buf text = {0};
    ASSERT(am_ann_format(a, f, &text) == 0);
    am_buf_free(&text);
  }
  am_buf_free(&sp);
  am_buf_free(&env);
}

static int count_cb(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len,
                    void *arg) {
  (void)t, (void)id, (void)env, (void)len;
  ++*(size_t *)arg;
  return 0;
}

/* Every held announcement decodes, under the id it is held by. */
static int reload_cb(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len,
                     void *arg) {
  (void)arg;
  am_ann a;
  ASSERT(am_ann_load(t, id, &a, NULL) == 0);
  const uint8_t *s, *sig;
  size_t n;
  uint8_t h[AM_ANN_ID_BYTES];
  ASSERT(am_ann_span(env, len, &s, &n, &sig) == 0);
  am_ann_hash(s, n, h);
  ASSERT(memcmp(h, id, AM_ANN_ID_BYTES) == 0);
  am_ann_free(&a);
  return 0;
}

static size_t held(am_txn *t) {
  size_t n;
  ASSERT(am_ann_count(t, &n) == 0);
  return n;
}

/* After ingest or apply of a (decoded from p[0..len)) with verdict r. */
static void check_ingest(am_txn *t, const am_ann *a, const uint8_t *p, size_t len,
                         const am_ingest *r, size_t before) {
  switch (r->reason) {
  case AM_REJ_NONE:
    ASSERT(r->applied != r->duplicate);
    break;
  case AM_REJ_UNKNOWN_ORIGIN: case AM_REJ_STALE: case AM_REJ_EXPIRED: case AM_REJ_FUTURE:
  case AM_REJ_CONFLICT:
    ASSERT(!r->applied && !r->duplicate);
    break;
  default:
    __builtin_trap();
  }
  ASSERT(memcmp(r->id, a->id, AM_ANN_ID_BYTES) == 0);
  ASSERT(r->kind == a->kind && r->object == a->object && r->version == a->version);
  if (!r->applied) {
    ASSERT(held(t) == before);
    return;
  }
  /* The new content replaced at most one held announcement. */
  size_t after = held(t);
  ASSERT(after == before + 1 || after == before);
  const uint8_t *q;
  size_t qlen;
  ASSERT(am_ann_get(t, a->id, &q, &qlen) == 0);
  ASSERT(same_bytes(q, qlen, p, len));
  bool ret = a->kind == AM_K_RETRACTION;
  am_slot slot;
  ASSERT(am_ann_slot_get(t, a->origin, ret ? (int)a->body[AM_RET_KIND].u : a->kind,
                         a->object, &slot) == 0);
  ASSERT(slot.version == a->version && memcmp(slot.id, a->id, AM_ANN_ID_BYTES) == 0);
  ASSERT(slot.state == (ret ? AM_SLOT_RETRACTED : AM_SLOT_LIVE));
  ASSERT(slot.created == a->created && slot.expires == a->expires);
}

static void check_envelope(am_txn *t, const uint8_t *p, size_t len) {
  am_ann a, b;
  am_error err = {0, ""}, oerr = {0, ""}, ierr = {0, ""};
  int reason = -1, oreason = -1;

  int rc = am_ann_decode(p, len, &a, &reason, &err);
  if (rc != 0) {
    ASSERT(rc == AM_EINVAL && err.msg[0]);
    ASSERT(reason == AM_REJ_MALFORMED || reason == AM_REJ_TOO_LARGE ||
           reason == AM_REJ_NONCANONICAL || reason == AM_REJ_UNSUPPORTED);
    ASSERT(empty(&a));
  } else {
    ASSERT(reason == AM_REJ_NONE);
    check_decoded(&a, p, len);
  }

  int orc = am_ann_open(p, len, &b, &oreason, &oerr);
  if (rc != 0) {
    ASSERT(orc == rc && oreason == reason && oerr.msg[0] && empty(&b));
  } else if (orc != 0) {
    ASSERT(orc == AM_EINVAL && oreason == AM_REJ_BAD_SIGNATURE && oerr.msg[0] && empty(&b));
  } else {
    const uint8_t *s, *sig;
    size_t n;
    uint8_t h[AM_ANN_ID_BYTES];
    ASSERT(oreason == AM_REJ_NONE);
    ASSERT(am_ann_span(p, len, &s, &n, &sig) == 0);
    am_ann_hash(s, n, h);
    ASSERT(memcmp(h, b.id, AM_ANN_ID_BYTES) == 0);
    ASSERT(same_header(&a, &b) && am_ann_same_content(&a, &b));
    ASSERT(am_ann_verify(&b, p, len) == 0);
  }

  size_t before = held(t);
  am_ingest r;
  ASSERT(am_ann_ingest(t, p, len, FUZZ_NOW, &r, &ierr) == 0);
  if (orc != 0) {
    ASSERT(r.reason == oreason && !r.applied && !r.duplicate);
    ASSERT(held(t) == before);
  } else {
    ASSERT(r.reason == AM_REJ_NONE || ierr.msg[0]);
    check_ingest(t, &b, p, len, &r, before);
    am_ann_free(&b);
  }

  if (verbose)
    fprintf(stderr, "%zu bytes: decode %s, open %s, ingest %s%s%s\n", len,
            am_reject_name(reason), am_reject_name(oreason), am_reject_name(r.reason),
            r.applied ? " (applied)" : "", r.duplicate ? " (duplicate)" : "");

  /* Signed by anyone: apply as if the origin had signed these bytes. */
  if (rc == 0 && orc != 0) {
    const uint8_t *s, *sig;
    size_t n;
    ASSERT(am_ann_span(p, len, &s, &n, &sig) == 0);
    am_ann_hash(s, n, a.id);
    before = held(t);
    ierr.msg[0] = '\0';
    ASSERT(am_ann_apply(t, &a, p, len, FUZZ_NOW, &r, &ierr) == 0);
    ASSERT(r.reason == AM_REJ_NONE || ierr.msg[0]);
    check_ingest(t, &a, p, len, &r, before);
    if (verbose)
      fprintf(stderr, "  applied as if signed: %s%s%s\n", am_reject_name(r.reason),
              r.applied ? " (applied)" : "", r.duplicate ? " (duplicate)" : "");
  }
  if (rc == 0) am_ann_free(&a);
}

typedef struct input {
  const uint8_t *data;
  size_t size;
} input;

static int run(am_txn *t, void *arg) {
  const input *in = arg;
  size_t off = 0;
  while (off < in->size) {
    size_t used = 0;
    int reason = -1;
    if (am_ann_frame(in->data + off, in->size - off, &used, &reason) != 0) {
      ASSERT(reason == AM_REJ_MALFORMED || reason == AM_REJ_TOO_LARGE);
      break; /* no way to find the next envelope */
    }
    /* 0x92, a bin8 header, an empty signed part, the 66-byte signature */
    ASSERT(reason == AM_REJ_NONE && used >= 3 + 2 + AM_ANN_SIG_BYTES);
    ASSERT(used <= in->size - off && used <= AM_ANN_MAX_BYTES);
    check_envelope(t, in->data + off, used);
    off += used;
  }

  size_t n = 0;
  ASSERT(am_ann_each_kind(t, -1, reload_cb, NULL) == 0);
  for (int k = 0; k < AM_K__COUNT; k++) ASSERT(am_ann_each_kind(t, k, count_cb, &n) == 0);
  ASSERT(n == held(t));
  ASSERT(am_ann_each_since(t, corpus_pk, 0, reload_cb, NULL) == 0);

  /* At the end of time every event and job has expired. */
  uint64_t pruned = 0;
  ASSERT(am_ann_prune(t, (int64_t)AM_ANN_TIME_MAX, &pruned, NULL) == 0);
  size_t left = 0;
  ASSERT(am_ann_each_kind(t, AM_K_EVENT, count_cb, &left) == 0);
  ASSERT(am_ann_each_kind(t, AM_K_JOB, count_cb, &left) == 0);
  ASSERT(left == 0 && held(t) + pruned == n);
  ASSERT(am_ann_each_kind(t, -1, reload_cb, NULL) == 0);
  return ROLLBACK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!store) setup();

  /* The whole input as one envelope: trailing bytes, over-long inputs. */
  am_ann a;
  int reason = -1;
  if (am_ann_decode(data, size, &a, &reason, NULL) == 0) {
    size_t used = 0;
    ASSERT(am_ann_frame(data, size, &used, &reason) == 0 && used == size);
    am_ann_free(&a);
  } else {
    ASSERT(reason != AM_REJ_NONE && empty(&a));
  }

  input in = {data, size};
  am_error err = {0, ""};
  ASSERT(am_store_write(store, run, &in, &err) == ROLLBACK);
  return 0;
}
