/* crypto/batch.h and store/ingest.h: opening announcements on several
 * threads and ingesting a buffer of concatenated envelopes in batches.
 * The verdicts must be the same whatever the number of threads and the
 * batch size, and must be reported once each even when a transaction is
 * run again after the map grew. */
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/batch.h"
#include "crypto/sign.h"
#include "store/ingest.h"
#include "tests/test.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */

static char root[] = "/tmp/amicale-test-ingest-XXXXXX";
static int seq;

static am_store *fresh_store(size_t map_size) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/node%d", root, ++seq);
  if (mkdir(dir, 0700)) return NULL;
  am_store *s;
  am_error err = {0};
  am_store_opts o = {.create = true, .map_size = map_size};
  if (am_store_open(&s, dir, &o, &err)) {
    fprintf(stderr, "open %s: %s\n", dir, err.msg);
    return NULL;
  }
  return s;
}

static int trust_fn(am_txn *t, void *arg) {
  am_trust tr = {.added = NOW};
  memcpy(tr.key, arg, AM_ANN_KEY_BYTES);
  return am_trust_add(t, &tr, NULL, NULL);
}

static void set(am_ann *a, uint32_t f, const char *v) {
  am_error err = {0};
  if (am_ann_set(a, f, v, &err)) fprintf(stderr, "set %u '%s': %s\n", (unsigned)f, v, err.msg);
}

/* Appends a sealed announcement of the given kind to out. */
static int seal(const am_identity *id, int kind, uint64_t object, uint64_t version,
                const char *text, am_buf *out) {
  am_ann a;
  am_ann_init(&a, kind);
  a.object = object, a.version = version, a.created = (uint64_t)NOW - 100;
  switch (kind) {
  case AM_K_EVENT:
    a.expires = (uint64_t)NOW + 30 * 86400;
    set(&a, AM_EV_TITLE, text);
    set(&a, AM_EV_STARTS_AT, "2026-02-01T18:30Z");
    set(&a, AM_EV_TIMEZONE, "Europe/Paris");
    set(&a, AM_EV_CITY, "Lyon");
    set(&a, AM_EV_STATUS, "scheduled");
    break;
  case AM_K_JOB:
    a.expires = (uint64_t)NOW + 60 * 86400;
    set(&a, AM_JOB_TITLE, text);
    set(&a, AM_JOB_EMPLOYER, "Société Générale");
    set(&a, AM_JOB_CONTRACT, "cdi");
    set(&a, AM_JOB_DESCRIPTION, "Analyse des risques de marché.\nÉquipe de six personnes.");
    set(&a, AM_JOB_APPLY, "https://example.org/jobs/42");
    set(&a, AM_JOB_POSTED, "2025-12-20");
    set(&a, AM_JOB_VALID_THROUGH, "2026-02-20");
    set(&a, AM_JOB_ALUMNI_ONLY, "no");
    break;
  case AM_K_PROFILE:
    set(&a, AM_F_GIVEN_NAME, text);
    set(&a, AM_F_FAMILY_NAME, "Dubois");
    set(&a, AM_F_PROMO, "2012");
    break;
  }
  am_error err = {0};
  int rc = am_ann_seal(&a, id, out, &err);
  if (rc) fprintf(stderr, "seal: %s\n", err.msg);
  am_ann_free(&a);
  return rc;
}

/* ---- am_ann_open_batch ---- */

static void test_open_batch_threads_agree(void) {
  am_identity id;
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  enum { N = 40 };
  am_buf buf = {0};
  size_t off[N + 1];
  for (int i = 0; i < N; i++) {
    off[i] = buf.len;
    char title[32];
    snprintf(title, sizeof title, "Event %d", i);
    REQUIRE(seal(&id, i % 3 ? AM_K_EVENT : AM_K_JOB, (uint64_t)i + 1, (uint64_t)i + 1, title,
                 &buf) == 0);
  }
  off[N] = buf.len;
  uint8_t *p = (uint8_t *)buf.data;
  p[off[5] + 20] ^= 1;     /* inside the signed part: bad signature */
  p[off[12 + 1] - 1] ^= 1; /* last byte of the signature */
  am_span in[N];
  for (int i = 0; i < N; i++) in[i] = (am_span){p + off[i], off[i + 1] - off[i]};
  in[30].len -= 1; /* cut short: malformed */

  static am_ann out[3][N];
  static int reasons[3][N];
  static am_error errs[3][N];
  unsigned threads[3] = {1, 2, 5};
  for (int k = 0; k < 3; k++)
    CHECK_INT(am_ann_open_batch(in, N, out[k], reasons[k], errs[k], threads[k]), 0);
  for (int i = 0; i < N; i++) {
    bool bad_sig = i == 5 || i == 12, cut = i == 30;
    int want = bad_sig ? AM_REJ_BAD_SIGNATURE : cut ? AM_REJ_MALFORMED : AM_REJ_NONE;
    for (int k = 0; k < 3; k++) {
      CHECK_INT(reasons[k][i], want);
      CHECK_INT(errs[k][i].code, want == AM_REJ_NONE ? 0 : AM_EINVAL);
      CHECK_STR(errs[k][i].msg, errs[0][i].msg);
      CHECK(memcmp(out[k][i].id, out[0][i].id, AM_ANN_ID_BYTES) == 0);
      if (want == AM_REJ_NONE) CHECK_INT(out[k][i].object, (uint64_t)i + 1);
      am_ann_free(&out[k][i]);
    }
  }
  /* Reused opener: batches one after the other, and an empty one. */
  am_opener *o;
  REQUIRE(am_opener_new(&o, 2) == 0);
  CHECK_INT(am_opener_threads(o), 2);
  for (int round = 0; round < 3; round++) {
    size_t n = round == 1 ? 0 : N;
    CHECK_INT(am_opener_submit(o, in, n, out[1], reasons[1], errs[1]), 0);
    CHECK_INT(am_opener_submit(o, in, n, out[1], reasons[1], errs[1]), AM_EUSAGE);
    CHECK_INT(am_opener_wait(o), 0);
    for (size_t i = 0; i < n; i++) {
      CHECK_INT(reasons[1][i], reasons[0][i]);
      am_ann_free(&out[1][i]);
    }
  }
  CHECK_INT(am_opener_wait(o), 0); /* nothing in flight */
  /* Freed with a batch in flight: it is finished first. */
  CHECK_INT(am_opener_submit(o, in, N, out[2], reasons[2], errs[2]), 0);
  am_opener_free(o);
  for (int i = 0; i < N; i++) {
    CHECK_INT(reasons[2][i], reasons[0][i]);
    am_ann_free(&out[2][i]);
  }
  am_buf_free(&buf);
  am_identity_wipe(&id);
}

/* ---- am_ann_ingest_buffer ---- */

typedef struct verdict {
  size_t off, len;
  am_ingest r;
  char msg[512];
} verdict;

typedef struct verdicts {
  verdict v[64];
  size_t n;
  size_t stop_after; /* 0: never */
} verdicts;

static int record(size_t off, size_t len, const am_ingest *r, const char *msg, void *arg) {
  verdicts *vs = arg;
  if (vs->n < 64) {
    verdict *v = &vs->v[vs->n];
    v->off = off, v->len = len, v->r = *r;
    snprintf(v->msg, sizeof v->msg, "%s", msg);
  }
  vs->n++;
  return vs->stop_after && vs->n == vs->stop_after ? 7 : 0;
}

typedef struct count_arg {
  size_t n;
  am_slot slot;
  int slot_rc;
  const uint8_t *origin;
  const uint8_t *id;
  const uint8_t *want;
  size_t want_len;
  bool same_bytes;
} count_arg;

static int count_fn(am_txn *t, void *arg) {
  count_arg *c = arg;
  am_ann_count(t, &c->n);
  c->slot_rc = am_ann_slot_get(t, c->origin, AM_K_EVENT, 1, &c->slot);
  const uint8_t *p;
  size_t len;
  c->same_bytes = am_ann_get(t, c->id, &p, &len) == 0 && len == c->want_len &&
                  memcmp(p, c->want, len) == 0;
  return 0;
}

/* The input of the mixed test and what each envelope must get. */
typedef struct mixed {
  am_identity a, b;
  am_buf buf;
  size_t off[10];
  int want[10];
  bool dup[10];
  size_t n;
} mixed;

static int add(mixed *m, int want, bool dup) {
  m->want[m->n] = want;
  m->dup[m->n] = dup;
  return (int)m->n++;
}

static int build_mixed(mixed *m) {
  memset(m, 0, sizeof *m);
  if (am_identity_generate(&m->a, NULL) || am_identity_generate(&m->b, NULL)) return -1;
  am_buf *b = &m->buf;
  int rc = 0;
  m->off[add(m, AM_REJ_NONE, false)] = b->len;                 /* 0: event 1 v5 */
  rc |= seal(&m->a, AM_K_EVENT, 1, 5, "Afterwork", b);
  m->off[add(m, AM_REJ_NONE, false)] = b->len;                 /* 1: job 2 v6 */
  rc |= seal(&m->a, AM_K_JOB, 2, 6, "Analyste risques", b);
  m->off[add(m, AM_REJ_NONE, true)] = b->len;                  /* 2: copy of 0 */
  {
    /* Copied out first: appending may move b->data. */
    size_t n = m->off[1] - m->off[0];
    char *copy = malloc(n);
    if (!copy) return -1;
    memcpy(copy, b->data + m->off[0], n);
    rc |= am_buf_append(b, copy, n);
    free(copy);
  }
  m->off[add(m, AM_REJ_BAD_SIGNATURE, false)] = b->len;        /* 3: flipped sig */
  rc |= seal(&m->a, AM_K_EVENT, 3, 7, "Gala", b);
  b->data[b->len - 1] ^= 0x40;
  m->off[add(m, AM_REJ_MALFORMED, false)] = b->len;            /* 4: not a signed part */
  static const uint8_t junk[2] = {0x01, 0x02}, sig[AM_ANN_SIG_BYTES] = {0};
  rc |= am_ann_envelope(junk, sizeof junk, sig, b);
  m->off[add(m, AM_REJ_UNKNOWN_ORIGIN, false)] = b->len;       /* 5: untrusted key */
  rc |= seal(&m->b, AM_K_EVENT, 1, 1, "Elsewhere", b);
  m->off[add(m, AM_REJ_STALE, false)] = b->len;                /* 6: event 1 v4 < v5 */
  rc |= seal(&m->a, AM_K_EVENT, 1, 4, "Afterwork (old)", b);
  m->off[add(m, AM_REJ_NONE, false)] = b->len;                 /* 7: profile */
  rc |= seal(&m->a, AM_K_PROFILE, 42, 8, "Éléonore", b);
  m->off[add(m, AM_REJ_MALFORMED, false)] = b->len;            /* 8: trailing bytes */
  rc |= am_buf_append(b, "\x93\x01\x02", 3);
  m->off[m->n] = b->len;
  return rc;
}

static void mixed_free(mixed *m) {
  am_buf_free(&m->buf);
  am_identity_wipe(&m->a);
  am_identity_wipe(&m->b);
}

/* Ingests m into a fresh store and checks every verdict and the store. */
static void ingest_mixed(const mixed *m, unsigned threads, size_t batch, size_t map,
                         verdicts *vs) {
  am_store *s = fresh_store(map);
  REQUIRE(s);
  REQUIRE(am_store_write(s, trust_fn, (void *)m->a.pk, NULL) == 0);
  am_ingest_opts o = {.now = NOW, .batch = batch, .threads = threads};
  am_ingest_totals tot;
  am_error err = {0};
  memset(vs, 0, sizeof *vs);
  int rc = am_ann_ingest_buffer(s, (const uint8_t *)m->buf.data, m->buf.len, &o, record, vs,
                                &tot, &err);
  CHECK_INT(rc, 0);
  if (rc) fprintf(stderr, "ingest: %s\n", err.msg);
  CHECK_INT(vs->n, m->n);
  for (size_t i = 0; i < m->n && i < vs->n; i++) {
    const verdict *v = &vs->v[i];
    CHECK_INT(v->off, m->off[i]);
    CHECK_INT(v->len, m->off[i + 1] - m->off[i]);
    CHECK_INT(v->r.reason, m->want[i]);
    CHECK_INT(v->r.duplicate, m->dup[i]);
    CHECK_INT(v->r.applied, m->want[i] == AM_REJ_NONE && !m->dup[i]);
    CHECK_INT(v->msg[0] != '\0', m->want[i] != AM_REJ_NONE);
  }
  CHECK_INT(tot.seen, m->n);
  CHECK_INT(tot.applied, 3);
  CHECK_INT(tot.duplicate, 1);
  CHECK_INT(tot.refused, 5);
  CHECK_INT(tot.by_reason[AM_REJ_BAD_SIGNATURE], 1);
  CHECK_INT(tot.by_reason[AM_REJ_MALFORMED], 2);
  CHECK_INT(tot.by_reason[AM_REJ_UNKNOWN_ORIGIN], 1);
  CHECK_INT(tot.by_reason[AM_REJ_STALE], 1);
  CHECK_INT(tot.unread, 3);
  size_t per = batch ? batch : AM_INGEST_BATCH;
  CHECK_INT(tot.batches, (8 + per - 1) / per);
  /* The store holds the three accepted, event 1 at version 5, as received. */
  count_arg c = {.origin = m->a.pk, .id = vs->v[0].r.id,
                 .want = (const uint8_t *)m->buf.data, .want_len = m->off[1]};
  REQUIRE(am_store_read(s, count_fn, &c, NULL) == 0);
  CHECK_INT(c.n, 3);
  CHECK_INT(c.slot_rc, 0);
  CHECK_INT(c.slot.version, 5);
  CHECK(c.same_bytes);
  am_store_close(s);
}

static void test_ingest_mixed(void) {
  mixed m;
  REQUIRE(build_mixed(&m) == 0);
  static verdicts one, two, whole;
  ingest_mixed(&m, 1, 3, 0, &one);
  ingest_mixed(&m, 2, 3, 0, &two);
  ingest_mixed(&m, 2, 0, 0, &whole);
  /* Same verdicts, same words, whatever the threads and batches. */
  CHECK_INT(one.n, two.n);
  for (size_t i = 0; i < one.n && i < two.n; i++) {
    CHECK(memcmp(&one.v[i].r, &two.v[i].r, sizeof one.v[i].r) == 0);
    CHECK(memcmp(&one.v[i].r, &whole.v[i].r, sizeof one.v[i].r) == 0);
    CHECK_STR(one.v[i].msg, two.v[i].msg);
    CHECK_STR(one.v[i].msg, whole.v[i].msg);
  }
  CHECK_STR(am_reject_name(one.v[3].r.reason), "bad-signature");
  /* Ingesting it all again: every accepted one is now a duplicate. */
  am_store *s = fresh_store(0);
  REQUIRE(s);
  REQUIRE(am_store_write(s, trust_fn, (void *)m.a.pk, NULL) == 0);
  am_ingest_opts o = {.now = NOW, .batch = 4, .threads = 2};
  am_ingest_totals tot;
  CHECK_INT(am_ann_ingest_buffer(s, (const uint8_t *)m.buf.data, m.buf.len, &o, NULL, NULL,
                                 &tot, NULL), 0);
  CHECK_INT(tot.applied, 3);
  CHECK_INT(am_ann_ingest_buffer(s, (const uint8_t *)m.buf.data, m.buf.len, &o, NULL, NULL,
                                 &tot, NULL), 0);
  CHECK_INT(tot.applied, 0);
  CHECK_INT(tot.duplicate, 4);
  /* A report that stops the ingest: its value comes back, the batches
   * before stay. */
  verdicts stop = {.stop_after = 2};
  CHECK_INT(am_ann_ingest_buffer(s, (const uint8_t *)m.buf.data, m.buf.len, &o, record, &stop,
                                 &tot, NULL), 7);
  CHECK_INT(stop.n, 2);
  /* Empty input. */
  CHECK_INT(am_ann_ingest_buffer(s, NULL, 0, &o, record, &stop, &tot, NULL), 0);
  CHECK_INT(tot.seen, 0);
  am_store_close(s);
  mixed_free(&m);
}

/* A batch whose transaction fills the map runs again after the map grew:
 * each verdict is still reported once. */
static void test_ingest_map_growth(void) {
  am_identity id;
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  enum { N = 300 };
  am_buf buf = {0};
  char title[200];
  for (int i = 0; i < N; i++) {
    snprintf(title, sizeof title, "Job %d %s", i,
             "Ingénieure procédés, équipe industrialisation, site de production");
    REQUIRE(seal(&id, AM_K_JOB, (uint64_t)i + 1, (uint64_t)i + 1, title, &buf) == 0);
  }
  am_store *s = fresh_store(64 << 10);
  REQUIRE(s);
  size_t before = am_store_map_size(s);
  REQUIRE(am_store_write(s, trust_fn, id.pk, NULL) == 0);
  am_ingest_opts o = {.now = NOW, .batch = 250, .threads = 2};
  am_ingest_totals tot;
  static verdicts vs;
  am_error err = {0};
  int rc = am_ann_ingest_buffer(s, (const uint8_t *)buf.data, buf.len, &o, record, &vs, &tot,
                                &err);
  CHECK_INT(rc, 0);
  if (rc) fprintf(stderr, "ingest: %s\n", err.msg);
  CHECK(am_store_map_size(s) > before);
  CHECK_INT(vs.n, N);
  CHECK_INT(tot.applied, N);
  CHECK_INT(tot.batches, 2);
  count_arg c = {.origin = id.pk, .id = id.pk};
  REQUIRE(am_store_read(s, count_fn, &c, NULL) == 0);
  CHECK_INT(c.n, N);
  am_store_close(s);
  am_buf_free(&buf);
  am_identity_wipe(&id);
}

int main(void) {
  if (!mkdtemp(root)) return 1;
  RUN(test_open_batch_threads_agree);
  RUN(test_ingest_mixed);
  RUN(test_ingest_map_growth);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd)) return 1;
  return TEST_SUMMARY();
}
