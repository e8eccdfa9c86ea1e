/* Unit tests for store/announcements.c: ingest verdicts (each refusal
 * writes nothing at all), the ordering rules (highest version, then a
 * retraction, then the lowest id), pruning of expired events and jobs, the
 * trust list, the readers (by origin and version, by kind, by id prefix),
 * this node's own version counter, and the federated profiles that follow
 * member changes. Clocks are parameters (or AMICALE_NOW for member writes):
 * nothing sleeps. Stores live under a fresh directory in /tmp, removed at
 * the end. */
#include "store/announcements.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/sign.h"
#include "store/members.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define NOW_TEXT "1767225600"

static am_identity me, other, third; /* me: the stores' signer */
static am_error err;

/* ---- stores -------------------------------------------------------------- */

/* Entry counts of every table, and a digest of all their keys and values:
 * a refused announcement must leave both exactly as they were. */
typedef struct snap {
  size_t n[AM_DB__COUNT];
  uint8_t digest[32];
} snap;

static int snap_fn(am_txn *t, void *arg) {
  snap *sn = arg;
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, sizeof sn->digest);
  for (int i = 0; i < AM_DB__COUNT; i++) {
    MDB_dbi dbi = am_store_db(t->store, i);
    MDB_stat st;
    if (mdb_stat(t->txn, dbi, &st)) return AM_EIO;
    sn->n[i] = st.ms_entries;
    MDB_cursor *c;
    if (mdb_cursor_open(t->txn, dbi, &c)) return AM_EIO;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      uint8_t sizes[17] = {(uint8_t)i};
      am_be64(sizes + 1, k.mv_size);
      am_be64(sizes + 9, v.mv_size);
      crypto_generichash_update(&h, sizes, sizeof sizes);
      crypto_generichash_update(&h, k.mv_data, k.mv_size);
      crypto_generichash_update(&h, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(c);
  }
  crypto_generichash_final(&h, sn->digest, sizeof sn->digest);
  return 0;
}

static snap take(am_store *s) {
  snap sn;
  memset(&sn, 0, sizeof sn);
  CHECK_INT(am_store_read(s, snap_fn, &sn, NULL), 0);
  return sn;
}

static bool same_snap(const snap *a, const snap *b) {
  bool same = true;
  for (int i = 0; i < AM_DB__COUNT; i++)
    if (a->n[i] != b->n[i]) {
      fprintf(stderr, "  table %d: %zu entries, then %zu\n", i, a->n[i], b->n[i]);
      same = false;
    }
  if (memcmp(a->digest, b->digest, 32) != 0) {
    fprintf(stderr, "  the tables' contents changed\n");
    same = false;
  }
  return same;
}

/* ---- announcements to feed in -------------------------------------------- */

static void event(am_ann *a, uint64_t object, uint64_t version, int64_t created,
                  int64_t expires, const char *title) {
  am_ann_init(a, AM_K_EVENT);
  a->object = object, a->version = version;
  a->created = (uint64_t)created, a->expires = (uint64_t)expires;
  a->body[AM_EV_TITLE] = (am_aval){.set = true, .s = strdup(title)};
  a->body[AM_EV_STARTS_AT] = (am_aval){.set = true, .u = (uint64_t)created + 3600};
  a->body[AM_EV_TIMEZONE] = (am_aval){.set = true, .s = strdup("Europe/Paris")};
  a->body[AM_EV_STATUS] = (am_aval){.set = true, .u = AM_EV_SCHEDULED};
}

static void job(am_ann *a, uint64_t object, uint64_t version, int64_t created,
                int64_t expires) {
  am_ann_init(a, AM_K_JOB);
  a->object = object, a->version = version;
  a->created = (uint64_t)created, a->expires = (uint64_t)expires;
  a->body[AM_JOB_TITLE] = (am_aval){.set = true, .s = strdup("Ingénieur")};
  a->body[AM_JOB_EMPLOYER] = (am_aval){.set = true, .s = strdup("Exemple SA")};
  a->body[AM_JOB_CONTRACT] = (am_aval){.set = true, .u = 0};
  a->body[AM_JOB_APPLY] = (am_aval){.set = true, .s = strdup("rh@exemple.fr")};
  a->body[AM_JOB_POSTED] = (am_aval){.set = true, .u = 20260101};
  a->body[AM_JOB_VALID_THROUGH] = (am_aval){.set = true, .u = 20260301};
  a->body[AM_JOB_ALUMNI_ONLY] = (am_aval){.set = true, .u = 1};
}

static void profile(am_ann *a, uint64_t object, uint64_t version, int64_t created,
                    const char *name) {
  am_ann_init(a, AM_K_PROFILE);
  a->object = object, a->version = version, a->created = (uint64_t)created;
  a->body[AM_F_GIVEN_NAME] = (am_aval){.set = true, .s = strdup(name)};
}

static void node(am_ann *a, uint64_t version, int64_t created) {
  am_ann_init(a, AM_K_NODE);
  a->version = version, a->created = (uint64_t)created;
  a->body[AM_NODE_NAME] = (am_aval){.set = true, .s = strdup("Partenaire")};
  a->body[AM_NODE_KIND] = (am_aval){.set = true, .u = 1};
}

static void retraction(am_ann *a, int kind, uint64_t object, uint64_t version,
                       int64_t created, const char *reason) {
  am_ann_init(a, AM_K_RETRACTION);
  a->object = object, a->version = version, a->created = (uint64_t)created;
  a->body[AM_RET_KIND] = (am_aval){.set = true, .u = (uint64_t)kind};
  if (reason) a->body[AM_RET_REASON] = (am_aval){.set = true, .s = strdup(reason)};
}

/* One sealed envelope: its bytes, id, and what it says. */
typedef struct env {
  am_buf b;
  uint8_t id[32];
  uint8_t kind;
  uint64_t object, version;
} env;

/* Seals a (freed afterwards) with id into e. */
static env seal(am_ann *a, const am_identity *id) {
  env e;
  memset(&e, 0, sizeof e);
  am_error se = {0};
  int rc = am_ann_seal(a, id, &e.b, &se);
  if (rc) fprintf(stderr, "  seal: %s\n", se.msg);
  CHECK_INT(rc, 0);
  memcpy(e.id, a->id, 32);
  e.kind = a->kind, e.object = a->object, e.version = a->version;
  am_ann_free(a);
  return e;
}

static env ev(const am_identity *id, uint64_t object, uint64_t version, int64_t created,
              int64_t expires, const char *title) {
  am_ann a;
  event(&a, object, version, created, expires, title);
  return seal(&a, id);
}

static env ret(const am_identity *id, int kind, uint64_t object, uint64_t version,
               const char *reason) {
  am_ann a;
  retraction(&a, kind, object, version, NOW, reason);
  return seal(&a, id);
}

static void env_free(env *e) { am_buf_free(&e->b); }

/* ---- transactions ---------------------------------------------------------- */

typedef struct ing {
  const void *p;
  size_t n;
  int64_t now;
  am_ingest r;
  am_error err;
} ing;

static int ingest_fn(am_txn *t, void *arg) {
  ing *g = arg;
  memset(&g->err, 0, sizeof g->err);
  return am_ann_ingest(t, g->p, g->n, g->now, &g->r, &g->err);
}

/* Ingests raw bytes in a transaction of their own; err keeps the message. */
static am_ingest ingest_raw(am_store *s, const void *p, size_t n, int64_t now) {
  ing g = {.p = p, .n = n, .now = now};
  CHECK_INT(am_store_write(s, ingest_fn, &g, NULL), 0);
  err = g.err;
  /* A verdict is one of three things. */
  CHECK((g.r.reason == AM_REJ_NONE) == (g.r.applied || g.r.duplicate));
  CHECK(!(g.r.applied && g.r.duplicate));
  if (g.r.reason != AM_REJ_NONE) CHECK(err.msg[0] != '\0');
  return g.r;
}

static am_ingest ingest(am_store *s, const env *e, int64_t now) {
  am_ingest r = ingest_raw(s, e->b.data, e->b.len, now);
  if (r.reason == AM_REJ_NONE) CHECK(memcmp(r.id, e->id, 32) == 0);
  return r;
}

/* Ingests and requires it to be stored now. */
#define APPLIED(s, e, now)                                                     \
  do {                                                                         \
    am_ingest r_ = ingest((s), (e), (now));                                    \
    if (!r_.applied)                                                           \
      fprintf(stderr, "  not applied (%s): %s\n", am_reject_name(r_.reason), err.msg); \
    CHECK(r_.applied);                                                         \
  } while (0)

#define REFUSED(s, e, now, why)                                                \
  do {                                                                         \
    am_ingest r_ = ingest((s), (e), (now));                                    \
    if (r_.reason != (why))                                                    \
      fprintf(stderr, "  verdict %s, expected %s\n", am_reject_name(r_.reason),    \
              am_reject_name(why));                                            \
    CHECK_INT(r_.reason, (why));                                               \
    CHECK(!r_.applied && !r_.duplicate);                                       \
  } while (0)

typedef struct rd {
  const uint8_t *origin;
  int kind;
  uint64_t object;
  const uint8_t *id;
  am_slot slot;
  am_buf env;
  am_ann ann;
  int rc;
} rd;

static int slot_fn(am_txn *t, void *arg) {
  rd *q = arg;
  q->rc = am_ann_slot_get(t, q->origin, q->kind, q->object, &q->slot);
  return 0;
}

/* The slot of (origin, kind, object): 0 or AM_ENOTFOUND. */
static int slot_of(am_store *s, const uint8_t *origin, int kind, uint64_t object,
                   am_slot *out) {
  rd q = {.origin = origin, .kind = kind, .object = object};
  CHECK_INT(am_store_read(s, slot_fn, &q, NULL), 0);
  if (out) *out = q.slot;
  return q.rc;
}

static int get_fn(am_txn *t, void *arg) {
  rd *q = arg;
  const uint8_t *p;
  size_t n;
  q->env.len = 0;
  q->rc = am_ann_get(t, q->id, &p, &n);
  if (!q->rc) am_buf_append(&q->env, p, n);
  return 0;
}

/* Whether announcement id is held: 0 or AM_ENOTFOUND; its bytes in out
 * (a zeroed am_buf or one from an earlier call). */
static int held(am_store *s, const uint8_t *id, am_buf *out) {
  rd q = {.id = id};
  CHECK_INT(am_store_read(s, get_fn, &q, NULL), 0);
  if (out) {
    am_buf_free(out); /* out starts zeroed or holds an earlier result */
    *out = q.env;
  } else {
    am_buf_free(&q.env);
  }
  return q.rc;
}

/* Held, with exactly the bytes that came in. */
static bool holds(am_store *s, const env *e) {
  am_buf b = {0};
  bool ok = held(s, e->id, &b) == 0 && b.len == e->b.len && memcmp(b.data, e->b.data, b.len) == 0;
  am_buf_free(&b);
  return ok;
}

static int load_fn(am_txn *t, void *arg) {
  rd *q = arg;
  q->rc = am_ann_load(t, q->id, &q->ann, NULL);
  return 0;
}

static int load(am_store *s, const uint8_t *id, am_ann *out) {
  rd q = {.id = id};
  CHECK_INT(am_store_read(s, load_fn, &q, NULL), 0);
  *out = q.ann;
  return q.rc;
}

typedef struct tget {
  const uint8_t *key;
  am_trust tr;
  int rc;
  bool trusted;
} tget;

static int tget_fn(am_txn *t, void *arg) {
  tget *g = arg;
  g->rc = am_trust_get(t, g->key, &g->tr);
  g->trusted = am_trusted(t, g->key);
  return 0;
}

static tget trust_get(am_store *s, const uint8_t *key) {
  tget g = {.key = key};
  CHECK_INT(am_store_read(s, tget_fn, &g, NULL), 0);
  return g;
}

typedef struct pub {
  am_ann *a;
  int64_t now;
  am_buf env;
  am_error err;
  /* am_ann_retract instead when kind >= 0 */
  int kind;
  uint64_t object;
} pub;

static int publish_fn(am_txn *t, void *arg) {
  pub *p = arg;
  p->env.len = 0;
  memset(&p->err, 0, sizeof p->err);
  if (p->kind >= 0) return am_ann_retract(t, p->kind, p->object, "withdrawn", p->now, &p->err);
  return am_ann_publish(t, p->a, p->now, &p->env, &p->err);
}

/* Publishes a as this node; the envelope goes to out (may be NULL). */
static int publish(am_store *s, am_ann *a, int64_t now, am_buf *out) {
  pub p = {.a = a, .now = now, .kind = -1};
  int rc = am_store_write(s, publish_fn, &p, NULL);
  err = p.err;
  if (out) *out = p.env;
  else am_buf_free(&p.env);
  return rc;
}

static int retract_own(am_store *s, int kind, uint64_t object, int64_t now) {
  pub p = {.kind = kind, .object = object, .now = now};
  int rc = am_store_write(s, publish_fn, &p, NULL);
  err = p.err;
  am_buf_free(&p.env);
  return rc;
}

typedef struct obj_arg {
  int kind;
  uint64_t object;
} obj_arg;

static int next_object_fn(am_txn *t, void *arg) {
  obj_arg *o = arg;
  return am_ann_next_object(t, o->kind, &o->object, NULL);
}

static uint64_t next_object(am_store *s, int kind) {
  obj_arg o = {.kind = kind};
  CHECK_INT(am_store_write(s, next_object_fn, &o, NULL), 0);
  return o.object;
}

static uint64_t prune(am_store *s, int64_t now) {
  uint64_t n = 12345;
  CHECK_INT(fx_prune(s, now, &n, NULL), 0);
  return n;
}

/* Walks: what a reader saw, in order. */
typedef struct walk {
  size_t n, stop_after;
  int stop_with;
  uint8_t ids[300][32];
  uint64_t versions[300];
  uint64_t created[300];
  int kinds[300];
  int bad;
  const uint8_t *origin;
  uint64_t since;
  int kind;
} walk;

static int walk_cb(am_txn *t, const uint8_t *id, const uint8_t *p, size_t len, void *arg) {
  walk *w = arg;
  am_ann a;
  int reason;
  (void)t;
  if (am_ann_decode(p, len, &a, &reason, NULL) != 0) {
    w->bad++;
    return 0;
  }
  /* The id handed over is the id of those bytes. */
  const uint8_t *sp, *sig;
  size_t n;
  uint8_t h[32];
  am_ann_span(p, len, &sp, &n, &sig);
  am_ann_hash(sp, n, h);
  if (memcmp(h, id, 32) != 0) w->bad++;
  if (w->n < 300) {
    memcpy(w->ids[w->n], id, 32);
    w->versions[w->n] = a.version;
    w->created[w->n] = a.created;
    w->kinds[w->n] = a.kind;
  }
  am_ann_free(&a);
  w->n++;
  if (w->stop_after && w->n >= w->stop_after) return w->stop_with;
  return 0;
}

static int since_fn(am_txn *t, void *arg) {
  walk *w = arg;
  return am_ann_each_since(t, w->origin, w->since, walk_cb, w);
}

static int kind_fn(am_txn *t, void *arg) {
  walk *w = arg;
  return am_ann_each_kind(t, w->kind, walk_cb, w);
}

/* Versions of origin's held announcements after since, in walk order. */
static int walk_since(am_store *s, const uint8_t *origin, uint64_t since, walk *w) {
  memset(w, 0, sizeof *w);
  w->origin = origin, w->since = since;
  return am_store_read(s, since_fn, w, NULL);
}

static int walk_kind(am_store *s, int kind, walk *w, size_t stop_after, int stop_with) {
  memset(w, 0, sizeof *w);
  w->kind = kind, w->stop_after = stop_after, w->stop_with = stop_with;
  return am_store_read(s, kind_fn, w, NULL);
}

static bool versions_are(const walk *w, size_t n, ...) {
  bool ok = w->n == n && !w->bad;
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n && i < w->n; i++)
    if (w->versions[i] != va_arg(ap, uint64_t)) ok = false;
  va_end(ap);
  if (!ok) {
    fprintf(stderr, "  walk saw %zu (bad %d):", w->n, w->bad);
    for (size_t i = 0; i < w->n && i < 300; i++)
      fprintf(stderr, " %llu", (unsigned long long)w->versions[i]);
    fputc('\n', stderr);
  }
  return ok;
}
#define V(x) ((uint64_t)(x))

static int count_fn(am_txn *t, void *arg) { return am_ann_count(t, arg); }

static size_t count_held(am_store *s) {
  size_t n = 0;
  CHECK_INT(am_store_read(s, count_fn, &n, NULL), 0);
  return n;
}

/* ---- ingest ------------------------------------------------------------------ */

static void test_ingest_and_duplicate(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  CHECK_INT(fx_trust(s, other.pk, "Partenaire", NOW, NULL, &err), 0);
  env e = ev(&other, 1, 1, NOW - 10, NOW + 86400, "Gala");
  snap before = take(s);
  am_ingest r = ingest(s, &e, NOW);
  CHECK_INT(r.reason, AM_REJ_NONE);
  CHECK(r.applied && !r.duplicate);
  CHECK(memcmp(r.origin, other.pk, 32) == 0);
  CHECK_INT(r.kind, AM_K_EVENT);
  CHECK_INT(r.object, 1);
  CHECK_INT(r.version, 1);
  snap after = take(s);
  /* One announcement, its slot, and an entry in each index. */
  CHECK_INT(after.n[AM_DB_ANN] - before.n[AM_DB_ANN], 1);
  CHECK_INT(after.n[AM_DB_ANN_SLOT] - before.n[AM_DB_ANN_SLOT], 1);
  CHECK_INT(after.n[AM_DB_ANN_SEQ] - before.n[AM_DB_ANN_SEQ], 1);
  CHECK_INT(after.n[AM_DB_ANN_KIND] - before.n[AM_DB_ANN_KIND], 1);
  CHECK_INT(after.n[AM_DB_ANN_EXP] - before.n[AM_DB_ANN_EXP], 1);
  CHECK(holds(s, &e));
  am_slot sl;
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.version, 1);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK_INT(sl.ann_kind, AM_K_EVENT);
  CHECK_INT(sl.created, NOW - 10);
  CHECK_INT(sl.expires, NOW + 86400);
  CHECK(memcmp(sl.id, e.id, 32) == 0);
  am_ann a;
  REQUIRE(load(s, e.id, &a) == 0);
  CHECK_STR(a.body[AM_EV_TITLE].s, "Gala");
  CHECK(memcmp(a.id, e.id, 32) == 0);
  CHECK(memcmp(a.origin, other.pk, 32) == 0);
  am_ann_free(&a);
  /* The same bytes again (from another peer, later): nothing changes. */
  r = ingest(s, &e, NOW + 5);
  CHECK_INT(r.reason, AM_REJ_NONE);
  CHECK(r.duplicate && !r.applied);
  snap again = take(s);
  CHECK(same_snap(&after, &again));
  /* Own announcements are trusted without a trust list entry, and one
   * echoed back by a peer is a duplicate. */
  am_buf own = {0};
  am_ann n;
  node(&n, 0, 0);
  REQUIRE(publish(s, &n, NOW, &own) == 0);
  am_ann_free(&n);
  snap pub_snap = take(s);
  r = ingest_raw(s, own.data, own.len, NOW);
  CHECK(r.duplicate);
  snap echoed = take(s);
  CHECK(same_snap(&pub_snap, &echoed));
  /* Nothing held under ids that were never seen. */
  uint8_t nope[32] = {0};
  CHECK_INT(held(s, nope, NULL), AM_ENOTFOUND);
  CHECK_INT(load(s, nope, &a), AM_ENOTFOUND);
  CHECK_INT(slot_of(s, other.pk, AM_K_EVENT, 2, NULL), AM_ENOTFOUND);
  CHECK_INT(slot_of(s, other.pk, AM_K_JOB, 1, NULL), AM_ENOTFOUND);
  am_buf_free(&own);
  env_free(&e);
  am_store_close(s);
}

/* A refusal in the middle of a write transaction leaves it usable. */
typedef struct mixed {
  env *bad, *good;
  am_ingest rb, rg;
} mixed;

static int mixed_fn(am_txn *t, void *arg) {
  mixed *m = arg;
  int rc = am_ann_ingest(t, (const uint8_t *)m->bad->b.data, m->bad->b.len, NOW, &m->rb, NULL);
  if (!rc) rc = am_ann_ingest(t, (const uint8_t *)m->good->b.data, m->good->b.len, NOW, &m->rg, NULL);
  return rc;
}

static void test_rejections_write_nothing(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  CHECK_INT(fx_trust(s, other.pk, "Partenaire", NOW, NULL, &err), 0);
  env held5 = ev(&other, 1, 5, NOW - 100, NOW + 86400, "v5");
  APPLIED(s, &held5, NOW);
  am_ann p;
  profile(&p, 9, 6, NOW - 100, "Marie");
  env prof = seal(&p, &other);
  APPLIED(s, &prof, NOW);
  snap before = take(s);

  /* bad signature: one bit of the signature */
  env e = ev(&other, 2, 7, NOW, NOW + 86400, "signed");
  e.b.data[e.b.len - 1] ^= 1;
  REFUSED(s, &e, NOW, AM_REJ_BAD_SIGNATURE);
  CHECK(strstr(err.msg, "signature") != NULL);
  snap now_ = take(s);
  CHECK(same_snap(&before, &now_));
  /* ... or of the content */
  e.b.data[e.b.len - 1] ^= 1;
  {
    char *title = NULL;
    for (size_t i = 0; i + 6 <= e.b.len && !title; i++)
      if (memcmp(e.b.data + i, "signed", 6) == 0) title = e.b.data + i;
    REQUIRE(title);
    title[0] = 'S'; /* still a valid title: only the signature can tell */
  }
  REFUSED(s, &e, NOW, AM_REJ_BAD_SIGNATURE);
  env_free(&e);
  /* unknown origin */
  e = ev(&third, 1, 1, NOW, NOW + 86400, "stranger");
  REFUSED(s, &e, NOW, AM_REJ_UNKNOWN_ORIGIN);
  CHECK(strstr(err.msg, "trust") != NULL);
  env_free(&e);
  now_ = take(s);
  CHECK(same_snap(&before, &now_));
  /* stale: an older version of what is held */
  e = ev(&other, 1, 4, NOW - 200, NOW + 86400, "v4");
  REFUSED(s, &e, NOW, AM_REJ_STALE);
  env_free(&e);
  /* malformed: not an envelope, an envelope cut short, garbage inside */
  env hello = {.b = {.data = "hello", .len = 5}};
  REFUSED(s, &hello, NOW, AM_REJ_MALFORMED);
  e = ev(&other, 2, 7, NOW, NOW + 86400, "cut");
  e.b.len -= 1;
  REFUSED(s, &e, NOW, AM_REJ_MALFORMED);
  env_free(&e);
  {
    static const uint8_t bomb[] = {0x92, 0xc4, 0x05, 0xdd, 0xff, 0x00, 0x00, 0x00};
    am_buf b = {0};
    am_buf_append(&b, bomb, sizeof bomb);
    uint8_t sig[66] = {0xc4, 0x40};
    am_buf_append(&b, sig, sizeof sig);
    env bomb_env = {.b = b};
    REFUSED(s, &bomb_env, NOW, AM_REJ_MALFORMED);
    am_buf_free(&b);
  }
  /* non-canonical: a bin16 header around a short signed part */
  e = ev(&other, 2, 7, NOW, NOW + 86400, "wide");
  {
    const uint8_t *sp, *sig;
    size_t n;
    REQUIRE(am_ann_span((const uint8_t *)e.b.data, e.b.len, &sp, &n, &sig) == 0);
    REQUIRE(n < 256);
    am_buf b = {0};
    uint8_t h[4] = {0x92, 0xc5, 0, (uint8_t)n};
    am_buf_append(&b, h, 4);
    am_buf_append(&b, sp, n);
    am_buf_append(&b, "\xc4\x40", 2);
    am_buf_append(&b, sig, 64);
    env wide = {.b = b};
    REFUSED(s, &wide, NOW, AM_REJ_NONCANONICAL);
    am_buf_free(&b);
  }
  env_free(&e);
  /* too large */
  {
    size_t n = AM_ANN_MAX_BYTES + 10;
    char *big = calloc(1, n);
    REQUIRE(big);
    big[0] = (char)0x92;
    env large = {.b = {.data = big, .len = n}};
    REFUSED(s, &large, NOW, AM_REJ_TOO_LARGE);
    free(big);
  }
  /* expired: at its expiry time it is too late */
  e = ev(&other, 3, 8, NOW - 1000, NOW, "over");
  REFUSED(s, &e, NOW, AM_REJ_EXPIRED);
  REFUSED(s, &e, NOW + 100000, AM_REJ_EXPIRED);
  now_ = take(s);
  CHECK(same_snap(&before, &now_));
  /* ... and with no clock (now < 0) there are no time rules. */
  APPLIED(s, &e, -1);
  env_free(&e);
  before = take(s);
  /* from the future: more than AM_ANN_MAX_SKEW ahead of our clock */
  e = ev(&other, 4, 9, NOW + AM_ANN_MAX_SKEW + 1, NOW + 86400, "tomorrow");
  REFUSED(s, &e, NOW, AM_REJ_FUTURE);
  CHECK(strstr(err.msg, "clock") != NULL);
  /* (the same is fine a second later) */
  snap after_future = take(s);
  CHECK(same_snap(&before, &after_future));
  APPLIED(s, &e, NOW + 1);
  env_free(&e);
  /* version conflict: version 5 already names another object of other */
  before = take(s);
  e = ev(&other, 5, 5, NOW, NOW + 86400, "same version");
  REFUSED(s, &e, NOW, AM_REJ_CONFLICT);
  env_free(&e);
  now_ = take(s);
  CHECK(same_snap(&before, &now_));

  /* The order of the checks (PROTOCOL.md section 8): the signature, then
   * the times, then the trust list. */
  e = ev(&third, 1, 1, NOW - 1000, NOW, "stranger, expired");
  REFUSED(s, &e, NOW, AM_REJ_EXPIRED);
  e.b.data[e.b.len - 1] ^= 1;
  REFUSED(s, &e, NOW, AM_REJ_BAD_SIGNATURE);
  env_free(&e);
  e = ev(&third, 1, 1, NOW + 5000, NOW + 86400, "stranger, early");
  REFUSED(s, &e, NOW, AM_REJ_FUTURE);
  env_free(&e);
  /* stale before version-conflict: event 3 is held at version 8, and
   * version 6 names the profile */
  e = ev(&other, 3, 6, NOW - 300, NOW + 86400, "old and reused");
  REFUSED(s, &e, NOW, AM_REJ_STALE);
  env_free(&e);
  now_ = take(s);
  CHECK(same_snap(&before, &now_));

  /* Boundaries that are accepted. */
  e = ev(&other, 6, 10, NOW + AM_ANN_MAX_SKEW, NOW + 86400, "just in time");
  APPLIED(s, &e, NOW);
  env_free(&e);
  e = ev(&other, 7, 11, NOW - 1000, NOW + 1, "last second");
  APPLIED(s, &e, NOW);
  env_free(&e);

  /* A refusal and an acceptance in one transaction: the refusal wrote
   * nothing and the transaction committed the other. */
  env bad = ev(&third, 1, 1, NOW, NOW + 86400, "stranger");
  env good = ev(&other, 8, 12, NOW, NOW + 86400, "welcome");
  mixed m = {.bad = &bad, .good = &good};
  CHECK_INT(am_store_write(s, mixed_fn, &m, NULL), 0);
  CHECK_INT(m.rb.reason, AM_REJ_UNKNOWN_ORIGIN);
  CHECK(m.rg.applied);
  CHECK(holds(s, &good));
  CHECK_INT(held(s, bad.id, NULL), AM_ENOTFOUND);
  CHECK_INT(slot_of(s, third.pk, AM_K_EVENT, 1, NULL), AM_ENOTFOUND);
  env_free(&bad);
  env_free(&good);
  env_free(&held5);
  env_free(&prof);
  am_store_close(s);
}

/* ---- ordering -------------------------------------------------------------------- */

static void test_replay_stale(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env v1 = ev(&other, 1, 1, NOW - 300, NOW + 86400, "one");
  env v2 = ev(&other, 1, 2, NOW - 200, NOW + 2 * 86400, "two");
  env v3 = ev(&other, 1, 3, NOW - 100, NOW + 3 * 86400, "three");
  snap empty = take(s);
  APPLIED(s, &v1, NOW);
  APPLIED(s, &v2, NOW);
  /* The newer version replaced the older one and its index entries. */
  CHECK_INT(held(s, v1.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &v2));
  snap sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 1);
  CHECK_INT(sn.n[AM_DB_ANN_SLOT] - empty.n[AM_DB_ANN_SLOT], 1);
  CHECK_INT(sn.n[AM_DB_ANN_SEQ] - empty.n[AM_DB_ANN_SEQ], 1);
  CHECK_INT(sn.n[AM_DB_ANN_KIND] - empty.n[AM_DB_ANN_KIND], 1);
  CHECK_INT(sn.n[AM_DB_ANN_EXP] - empty.n[AM_DB_ANN_EXP], 1);
  APPLIED(s, &v3, NOW);
  snap s3 = take(s);
  /* Replays of older versions, in any order, are stale. */
  REFUSED(s, &v1, NOW, AM_REJ_STALE);
  CHECK(strstr(err.msg, "version 1") != NULL);
  REFUSED(s, &v2, NOW, AM_REJ_STALE);
  am_ingest r = ingest(s, &v3, NOW);
  CHECK(r.duplicate);
  snap s3b = take(s);
  CHECK(same_snap(&s3, &s3b));
  am_slot sl;
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.version, 3);
  CHECK(memcmp(sl.id, v3.id, 32) == 0);
  CHECK_INT(sl.expires, NOW + 3 * 86400);
  walk w;
  CHECK_INT(walk_since(s, other.pk, 0, &w), 0);
  CHECK(versions_are(&w, 1, V(3)));
  /* Arriving newest first, the older ones are stale straight away. */
  am_store *s2 = fx_store_fresh(&me, NULL);
  REQUIRE(s2);
  fx_trust(s2, other.pk, "", NOW, NULL, &err);
  APPLIED(s2, &v3, NOW);
  REFUSED(s2, &v2, NOW, AM_REJ_STALE);
  REFUSED(s2, &v1, NOW, AM_REJ_STALE);
  CHECK(holds(s2, &v3));
  env_free(&v1);
  env_free(&v2);
  env_free(&v3);
  am_store_close(s2);
  am_store_close(s);
}

static void test_retraction_ordering(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env c1 = ev(&other, 1, 1, NOW - 10, NOW + 86400, "Gala");
  env r2 = ret(&other, AM_K_EVENT, 1, 2, "annulé");
  env c2 = ev(&other, 1, 2, NOW - 5, NOW + 86400, "Gala (v2)");
  env c3 = ev(&other, 1, 3, NOW - 1, NOW + 86400, "Gala, reprogrammé");
  snap empty = take(s);
  APPLIED(s, &c1, NOW);
  APPLIED(s, &r2, NOW);
  /* The retraction is held, the content it withdraws is gone. */
  CHECK_INT(held(s, c1.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &r2));
  am_slot sl;
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  CHECK_INT(sl.version, 2);
  CHECK_INT(sl.ann_kind, AM_K_RETRACTION);
  CHECK(memcmp(sl.id, r2.id, 32) == 0);
  /* No slot of kind "retraction": a retraction lives in its target's. */
  CHECK_INT(slot_of(s, other.pk, AM_K_RETRACTION, 1, NULL), AM_ENOTFOUND);
  snap sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 1);
  CHECK_INT(sn.n[AM_DB_ANN_EXP] - empty.n[AM_DB_ANN_EXP], 0);
  CHECK_INT(sn.n[AM_DB_ANN_SLOT] - empty.n[AM_DB_ANN_SLOT], 1);
  walk w;
  CHECK_INT(walk_kind(s, AM_K_EVENT, &w, 0, 0), 0);
  CHECK_INT(w.n, 0);
  CHECK_INT(walk_kind(s, AM_K_RETRACTION, &w, 0, 0), 0);
  CHECK_INT(w.n, 1);
  /* The older content again: stale. So is content of the retraction's
   * own version (a retraction beats every version up to its own). */
  REFUSED(s, &c1, NOW, AM_REJ_STALE);
  REFUSED(s, &c2, NOW, AM_REJ_STALE);
  CHECK(strstr(err.msg, "retracted") != NULL);
  CHECK(holds(s, &r2));
  /* A newer version of the content brings the object back. */
  APPLIED(s, &c3, NOW);
  CHECK_INT(held(s, r2.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &c3));
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK_INT(sl.version, 3);
  REFUSED(s, &r2, NOW, AM_REJ_STALE);
  sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 1);
  CHECK_INT(sn.n[AM_DB_ANN_EXP] - empty.n[AM_DB_ANN_EXP], 1);

  /* The same two of version 2 in the other order: the retraction still
   * wins over content of its own version. */
  am_store *s2 = fx_store_fresh(&me, NULL);
  REQUIRE(s2);
  fx_trust(s2, other.pk, "", NOW, NULL, &err);
  APPLIED(s2, &c2, NOW);
  APPLIED(s2, &r2, NOW);
  CHECK_INT(held(s2, c2.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s2, &r2));
  REFUSED(s2, &c1, NOW, AM_REJ_STALE);
  REFUSED(s2, &c2, NOW, AM_REJ_STALE);

  /* A retraction of something never seen is kept, and keeps older copies
   * of it out. */
  env r9 = ret(&other, AM_K_JOB, 9, 10, NULL);
  APPLIED(s2, &r9, NOW);
  REQUIRE(slot_of(s2, other.pk, AM_K_JOB, 9, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  am_ann j;
  job(&j, 9, 8, NOW - 100, NOW + 86400);
  env j8 = seal(&j, &other);
  REFUSED(s2, &j8, NOW, AM_REJ_STALE);
  /* A retraction names its target's kind: withdrawing job 1 leaves
   * event 1 alone, and the other way round. */
  env e11 = ev(&other, 1, 11, NOW, NOW + 86400, "event 1");
  APPLIED(s2, &e11, NOW);
  env rj = ret(&other, AM_K_JOB, 1, 12, NULL);
  APPLIED(s2, &rj, NOW);
  CHECK(holds(s2, &e11));
  REQUIRE(slot_of(s2, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  REQUIRE(slot_of(s2, other.pk, AM_K_JOB, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  /* A node withdraws its own description with object 0. */
  am_ann n;
  node(&n, 13, NOW);
  env n13 = seal(&n, &other);
  APPLIED(s2, &n13, NOW);
  env rn = ret(&other, AM_K_NODE, 0, 14, "fermeture");
  APPLIED(s2, &rn, NOW);
  CHECK_INT(held(s2, n13.id, NULL), AM_ENOTFOUND);
  REQUIRE(slot_of(s2, other.pk, AM_K_NODE, 0, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  env *all[] = {&c1, &r2, &c2, &c3, &r9, &j8, &e11, &rj, &n13, &rn};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) env_free(all[i]);
  am_store_close(s2);
  am_store_close(s);
}

static void test_tie_lowest_id(void) {
  /* Two different announcements of one object under one version (an
   * origin that signed twice): every node keeps the one with the lowest
   * id, whatever the order they arrive in. */
  env a = ev(&other, 1, 7, NOW, NOW + 86400, "A");
  env b = ev(&other, 1, 7, NOW, NOW + 86400, "B");
  env *lo = memcmp(a.id, b.id, 32) < 0 ? &a : &b, *hi = lo == &a ? &b : &a;
  am_store *x = fx_store_fresh(&me, NULL), *y = fx_store_fresh(&me, NULL);
  REQUIRE(x && y);
  fx_trust(x, other.pk, "", NOW, NULL, &err);
  fx_trust(y, other.pk, "", NOW, NULL, &err);
  APPLIED(x, hi, NOW);
  APPLIED(x, lo, NOW);
  CHECK_INT(held(x, hi->id, NULL), AM_ENOTFOUND);
  CHECK(holds(x, lo));
  APPLIED(y, lo, NOW);
  REFUSED(y, hi, NOW, AM_REJ_STALE);
  CHECK(holds(y, lo));
  am_slot sx, sy;
  REQUIRE(slot_of(x, other.pk, AM_K_EVENT, 1, &sx) == 0);
  REQUIRE(slot_of(y, other.pk, AM_K_EVENT, 1, &sy) == 0);
  CHECK(memcmp(sx.id, lo->id, 32) == 0 && memcmp(sy.id, lo->id, 32) == 0);
  CHECK_INT(sx.version, 7);
  walk w;
  CHECK_INT(walk_since(x, other.pk, 0, &w), 0);
  CHECK(versions_are(&w, 1, V(7)));
  CHECK(w.n == 1 && memcmp(w.ids[0], lo->id, 32) == 0);
  /* The same between two retractions of one version. */
  env r1 = ret(&other, AM_K_EVENT, 1, 8, "one reason");
  env r2 = ret(&other, AM_K_EVENT, 1, 8, "another reason");
  env *rlo = memcmp(r1.id, r2.id, 32) < 0 ? &r1 : &r2, *rhi = rlo == &r1 ? &r2 : &r1;
  APPLIED(x, rhi, NOW);
  APPLIED(x, rlo, NOW);
  APPLIED(y, rlo, NOW);
  REFUSED(y, rhi, NOW, AM_REJ_STALE);
  CHECK(holds(x, rlo) && holds(y, rlo));
  CHECK_INT(held(x, rhi->id, NULL), AM_ENOTFOUND);
  snap a1 = take(x), a2 = take(y);
  CHECK_INT(a1.n[AM_DB_ANN], a2.n[AM_DB_ANN]);
  env_free(&a);
  env_free(&b);
  env_free(&r1);
  env_free(&r2);
  am_store_close(x);
  am_store_close(y);
}

static void test_version_conflict(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  fx_trust(s, third.pk, "", NOW, NULL, &err);
  env e1 = ev(&other, 1, 5, NOW, NOW + 86400, "one");
  env e2 = ev(&other, 2, 5, NOW, NOW + 86400, "two");
  am_ann p;
  profile(&p, 1, 5, NOW, "Marie");
  env p5 = seal(&p, &other);
  env t5 = ev(&third, 2, 5, NOW, NOW + 86400, "two");
  APPLIED(s, &e1, NOW);
  REFUSED(s, &e2, NOW, AM_REJ_CONFLICT);
  REFUSED(s, &p5, NOW, AM_REJ_CONFLICT);
  CHECK(strstr(err.msg, "version 5") != NULL);
  /* Another origin's version 5 is its own. */
  APPLIED(s, &t5, NOW);
  CHECK(holds(s, &e1));
  /* A newer version of an object held under another version: refused
   * too when that version names another held announcement. */
  env e2v3 = ev(&other, 2, 3, NOW, NOW + 86400, "two, v3");
  APPLIED(s, &e2v3, NOW);
  snap before = take(s);
  REFUSED(s, &e2, NOW, AM_REJ_CONFLICT);
  snap after = take(s);
  CHECK(same_snap(&before, &after));
  CHECK(holds(s, &e2v3));
  /* The tie rule still applies within one object. */
  env e1b = ev(&other, 1, 5, NOW, NOW + 86400, "one, again");
  am_ingest r = ingest(s, &e1b, NOW);
  CHECK(r.reason == (memcmp(e1b.id, e1.id, 32) < 0 ? AM_REJ_NONE : AM_REJ_STALE));
  env *all[] = {&e1, &e2, &p5, &t5, &e2v3, &e1b};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) env_free(all[i]);
  am_store_close(s);
}

/* Untrusting an origin drops its announcements but not what its slots
 * know: a retraction still beats its own version after a re-trust, and a
 * dropped announcement that comes back cannot take a version meanwhile
 * used by another object (the since-version index would lose one). */
static void test_untrust_keeps_slots(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env r = ret(&other, AM_K_EVENT, 1, 12, NULL);
  /* An event of the same object and version whose id is below the
   * retraction's (rule 3 alone would let it win). */
  env e = {0};
  char title[32];
  for (int i = 0;; i++) {
    snprintf(title, sizeof title, "same version %d", i);
    e = ev(&other, 1, 12, NOW, NOW + 86400, title);
    if (memcmp(e.id, r.id, 32) < 0) break;
    env_free(&e);
  }
  APPLIED(s, &r, NOW);
  REFUSED(s, &e, NOW, AM_REJ_STALE);
  uint64_t deleted = 0;
  CHECK_INT(fx_untrust(s, other.pk, &deleted, &err), 0);
  CHECK_INT(deleted, 1);
  CHECK(!holds(s, &r));
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  REFUSED(s, &e, NOW, AM_REJ_STALE);
  /* The retraction itself is taken back. */
  APPLIED(s, &r, NOW);
  CHECK(holds(s, &r));

  /* Event 2 at version 5, dropped by untrusting; meanwhile the origin's
   * job 1 takes version 5 here; event 2 v5 coming back is a conflict. */
  env e5 = ev(&other, 2, 5, NOW, NOW + 86400, "event five");
  APPLIED(s, &e5, NOW);
  CHECK_INT(fx_untrust(s, other.pk, &deleted, &err), 0);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  am_ann a;
  job(&a, 1, 5, NOW, NOW + 86400);
  env j5 = seal(&a, &other);
  APPLIED(s, &j5, NOW);
  snap before = take(s);
  REFUSED(s, &e5, NOW, AM_REJ_CONFLICT);
  snap after = take(s);
  CHECK(same_snap(&before, &after));
  /* Retracting the job leaves the index consistent: since 0 lists the
   * retractions held, and nothing that is not held. */
  env rj = ret(&other, AM_K_JOB, 1, 6, NULL);
  APPLIED(s, &rj, NOW);
  walk w;
  CHECK_INT(walk_since(s, other.pk, 0, &w), 0);
  CHECK(versions_are(&w, 1, V(6))); /* the retraction of event 1 went with the untrusting */
  env *all[] = {&r, &e, &e5, &j5, &rj};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) env_free(all[i]);
  am_store_close(s);
}

/* ---- expiry ------------------------------------------------------------------ */

static void test_prune(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env e1v1 = ev(&other, 1, 1, NOW - 50, NOW + 1000, "e1 v1");
  env e1v2 = ev(&other, 1, 2, NOW - 40, NOW + 100, "e1 v2 (shortened)");
  env e2 = ev(&other, 2, 3, NOW - 30, NOW + 200, "e2");
  am_ann a;
  job(&a, 1, 4, NOW - 20, NOW + 150);
  env j1 = seal(&a, &other);
  profile(&a, 5, 5, NOW - 10, "Marie");
  env p5 = seal(&a, &other);
  snap empty = take(s);
  APPLIED(s, &e1v1, NOW);
  APPLIED(s, &e1v2, NOW);
  APPLIED(s, &e2, NOW);
  APPLIED(s, &j1, NOW);
  APPLIED(s, &p5, NOW);
  snap full = take(s);
  CHECK_INT(full.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 4);
  CHECK_INT(full.n[AM_DB_ANN_EXP] - empty.n[AM_DB_ANN_EXP], 3);
  /* Before anything expires: nothing to do, nothing written. */
  CHECK_INT(prune(s, NOW + 99), 0);
  snap same = take(s);
  CHECK(same_snap(&full, &same));
  /* Expiry at or before now: e1 (v2) and the job go. */
  CHECK_INT(prune(s, NOW + 150), 2);
  snap sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 2);
  CHECK_INT(sn.n[AM_DB_ANN_EXP] - empty.n[AM_DB_ANN_EXP], 1);
  CHECK_INT(sn.n[AM_DB_ANN_SEQ] - empty.n[AM_DB_ANN_SEQ], 2);
  CHECK_INT(sn.n[AM_DB_ANN_KIND] - empty.n[AM_DB_ANN_KIND], 2);
  CHECK_INT(sn.n[AM_DB_ANN_SLOT], full.n[AM_DB_ANN_SLOT]); /* slots stay */
  CHECK_INT(held(s, e1v2.id, NULL), AM_ENOTFOUND);
  CHECK_INT(held(s, j1.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &e2));
  CHECK(holds(s, &p5));
  am_slot sl;
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_PRUNED);
  CHECK_INT(sl.version, 2);
  REQUIRE(slot_of(s, other.pk, AM_K_JOB, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_PRUNED);
  CHECK_INT(sl.version, 4);
  walk w;
  CHECK_INT(walk_since(s, other.pk, 0, &w), 0);
  CHECK(versions_are(&w, 2, V(3), V(5)));
  /* The slot remembers: the older copy that has not expired yet cannot
   * come back, and the pruned one is expired. */
  REFUSED(s, &e1v1, NOW + 150, AM_REJ_STALE);
  REFUSED(s, &e1v2, NOW + 150, AM_REJ_EXPIRED);
  /* A newer version is welcome. */
  env e1v6 = ev(&other, 1, 6, NOW + 150, NOW + 5000, "e1 v6");
  APPLIED(s, &e1v6, NOW + 150);
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK_INT(sl.version, 6);
  /* Later everything that expires is gone; the profile stays. */
  CHECK_INT(prune(s, NOW + 100000), 2);
  CHECK_INT(prune(s, NOW + 100000), 0);
  sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN] - empty.n[AM_DB_ANN], 1);
  CHECK_INT(sn.n[AM_DB_ANN_EXP], 0);
  CHECK(holds(s, &p5));
  /* No clock, no pruning. */
  CHECK_INT(prune(s, -1), 0);
  env *all[] = {&e1v1, &e1v2, &e2, &j1, &p5, &e1v6};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) env_free(all[i]);
  am_store_close(s);
}

typedef struct many {
  env *e;
  size_t n;
  size_t applied;
} many;

static int many_fn(am_txn *t, void *arg) {
  many *m = arg;
  m->applied = 0;
  for (size_t i = 0; i < m->n; i++) {
    am_ingest r;
    int rc = am_ann_ingest(t, (const uint8_t *)m->e[i].b.data, m->e[i].b.len, NOW, &r, NULL);
    if (rc) return rc;
    m->applied += r.applied;
  }
  return 0;
}

/* More expired announcements than prune takes in one batch. */
static void test_prune_many(void) {
  enum { N = 150 };
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env *e = calloc(N, sizeof *e);
  REQUIRE(e);
  for (int i = 0; i < N; i++) {
    char title[32];
    snprintf(title, sizeof title, "event %d", i);
    /* Expiry times in reverse order of object numbers and ids. */
    e[i] = ev(&other, (uint64_t)(1000 + N - i), (uint64_t)i + 1, NOW, NOW + 10 + i, title);
  }
  many m = {.e = e, .n = N};
  CHECK_INT(am_store_write(s, many_fn, &m, NULL), 0);
  CHECK_INT(m.applied, N);
  CHECK_INT(prune(s, NOW + 10 + 63), 64); /* exactly one full batch */
  CHECK_INT(held(s, e[63].id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &e[64]));
  CHECK_INT(prune(s, NOW + 10 + 63), 0);
  CHECK_INT(prune(s, NOW + 10 + 139), 76); /* one full batch and some */
  CHECK(holds(s, &e[140]));
  CHECK_INT(prune(s, NOW + 100000), 10);
  snap sn = take(s);
  CHECK_INT(sn.n[AM_DB_ANN], 0);
  CHECK_INT(sn.n[AM_DB_ANN_EXP], 0);
  CHECK_INT(sn.n[AM_DB_ANN_SEQ], 0);
  CHECK_INT(sn.n[AM_DB_ANN_KIND], 0);
  CHECK_INT(sn.n[AM_DB_ANN_SLOT], N);
  for (int i = 0; i < N; i++) {
    am_slot sl;
    CHECK_INT(slot_of(s, other.pk, AM_K_EVENT, (uint64_t)(1000 + N - i), &sl), 0);
    CHECK_INT(sl.state, AM_SLOT_PRUNED);
    env_free(&e[i]);
  }
  free(e);
  am_store_close(s);
}

/* ---- trust ------------------------------------------------------------------ */

typedef struct tlist {
  am_trust tr[8];
  int n;
} tlist;

static int tlist_cb(const am_trust *tr, void *arg) {
  tlist *l = arg;
  if (l->n < 8) l->tr[l->n] = *tr;
  l->n++;
  return 0;
}

static int tlist_fn(am_txn *t, void *arg) { return am_trust_each(t, tlist_cb, arg, NULL); }

static int tstop_cb(const am_trust *tr, void *arg) {
  (void)tr;
  ++*(int *)arg;
  return 1;
}

static int tstop_fn(am_txn *t, void *arg) { return am_trust_each(t, tstop_cb, arg, NULL); }

static void test_trust(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  tget g = trust_get(s, me.pk);
  CHECK(g.trusted); /* our own key, without an entry */
  CHECK_INT(g.rc, AM_ENOTFOUND);
  g = trust_get(s, other.pk);
  CHECK(!g.trusted);
  CHECK_INT(g.rc, AM_ENOTFOUND);
  bool existed = true;
  CHECK_INT(fx_trust(s, other.pk, "Partenaire", NOW, &existed, &err), 0);
  CHECK(!existed);
  g = trust_get(s, other.pk);
  CHECK(g.trusted);
  CHECK_INT(g.rc, 0);
  CHECK_STR(g.tr.name, "Partenaire");
  CHECK_INT(g.tr.added, NOW);
  CHECK(memcmp(g.tr.key, other.pk, 32) == 0);
  /* Adding again renames and keeps the date it was first trusted. */
  CHECK_INT(fx_trust(s, other.pk, "École partenaire", NOW + 500, &existed, &err), 0);
  CHECK(existed);
  g = trust_get(s, other.pk);
  CHECK_STR(g.tr.name, "École partenaire");
  CHECK_INT(g.tr.added, NOW);
  char longname[AM_TRUST_NAME_MAX + 1];
  memset(longname, 'n', AM_TRUST_NAME_MAX);
  longname[AM_TRUST_NAME_MAX] = '\0';
  CHECK_INT(fx_trust(s, third.pk, longname, NOW + 1, &existed, &err), 0);
  CHECK(!existed);
  g = trust_get(s, third.pk);
  CHECK_STR(g.tr.name, longname);
  tlist l = {0};
  CHECK_INT(am_store_read(s, tlist_fn, &l, NULL), 0);
  CHECK_INT(l.n, 2); /* our own key is not listed */
  for (int i = 0; i < l.n && i < 8; i++)
    CHECK(memcmp(l.tr[i].key, other.pk, 32) == 0 || memcmp(l.tr[i].key, third.pk, 32) == 0);
  if (l.n == 2) CHECK(memcmp(l.tr[0].key, l.tr[1].key, 32) < 0);
  int calls = 0;
  CHECK_INT(am_store_read(s, tstop_fn, &calls, NULL), 1); /* stopped, its value */
  CHECK_INT(calls, 1);

  /* What other said: live content, a retraction, a pruned event, and a
   * version that replaced an older one. */
  env e1 = ev(&other, 1, 1, NOW, NOW + 86400, "v1");
  env e5 = ev(&other, 1, 5, NOW, NOW + 86400, "v5");
  am_ann a;
  profile(&a, 2, 2, NOW, "Marie");
  env p2 = seal(&a, &other);
  env r3 = ret(&other, AM_K_JOB, 3, 3, NULL);
  env e4 = ev(&other, 4, 4, NOW, NOW + 10, "short");
  env t1 = ev(&third, 1, 1, NOW, NOW + 86400, "third's");
  APPLIED(s, &e1, NOW);
  APPLIED(s, &e5, NOW);
  APPLIED(s, &p2, NOW);
  APPLIED(s, &r3, NOW);
  APPLIED(s, &e4, NOW);
  APPLIED(s, &t1, NOW);
  CHECK_INT(prune(s, NOW + 10), 1);
  snap before = take(s);
  uint64_t deleted = 0;
  CHECK_INT(fx_untrust(s, other.pk, &deleted, &err), 0);
  CHECK_INT(deleted, 3); /* e5, p2, r3: e4 was already pruned */
  snap after = take(s);
  CHECK_INT(before.n[AM_DB_ANN] - after.n[AM_DB_ANN], 3);
  CHECK_INT(before.n[AM_DB_ANN_SEQ] - after.n[AM_DB_ANN_SEQ], 3);
  CHECK_INT(before.n[AM_DB_ANN_KIND] - after.n[AM_DB_ANN_KIND], 3);
  CHECK_INT(before.n[AM_DB_ANN_EXP] - after.n[AM_DB_ANN_EXP], 1);
  CHECK_INT(before.n[AM_DB_TRUST] - after.n[AM_DB_TRUST], 1);
  CHECK_INT(held(s, e5.id, NULL), AM_ENOTFOUND);
  CHECK_INT(held(s, p2.id, NULL), AM_ENOTFOUND);
  CHECK_INT(held(s, r3.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &t1));
  walk w;
  CHECK_INT(walk_since(s, other.pk, 0, &w), 0);
  CHECK_INT(w.n, 0);
  CHECK_INT(walk_kind(s, -1, &w, 0, 0), 0);
  CHECK_INT(w.n, 1);
  /* The slots remember the versions (see announcements.h). */
  am_slot sl;
  REQUIRE(slot_of(s, other.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.version, 5);
  CHECK(sl.state != AM_SLOT_LIVE && sl.state != AM_SLOT_RETRACTED);
  g = trust_get(s, other.pk);
  CHECK(!g.trusted);
  CHECK_INT(g.rc, AM_ENOTFOUND);
  env e6 = ev(&other, 1, 6, NOW, NOW + 86400, "v6");
  REFUSED(s, &e6, NOW, AM_REJ_UNKNOWN_ORIGIN);
  CHECK_INT(fx_untrust(s, other.pk, NULL, &err), AM_ENOTFOUND);
  CHECK_INT(fx_untrust(s, (const uint8_t *)"0123456789abcdef0123456789abcdef", NULL, &err), AM_ENOTFOUND);
  /* Trusted again: an older copy does not come back, the current one and
   * newer ones do. */
  CHECK_INT(fx_trust(s, other.pk, "De retour", NOW + 1000, &existed, &err), 0);
  CHECK(!existed);
  REFUSED(s, &e1, NOW, AM_REJ_STALE);
  APPLIED(s, &e5, NOW);
  CHECK(holds(s, &e5));
  APPLIED(s, &e6, NOW);
  CHECK_INT(held(s, e5.id, NULL), AM_ENOTFOUND);
  /* The retracted job stays retracted. */
  am_ann j;
  job(&j, 3, 2, NOW, NOW + 86400);
  env j2 = seal(&j, &other);
  REFUSED(s, &j2, NOW, AM_REJ_STALE);
  /* Untrusted a second time: only what is held again is deleted. */
  CHECK_INT(fx_untrust(s, other.pk, &deleted, &err), 0);
  CHECK_INT(deleted, 1); /* e6 */
  CHECK_INT(held(s, e6.id, NULL), AM_ENOTFOUND);
  CHECK(holds(s, &t1));
  CHECK_INT(count_held(s), 1);
  env *all[] = {&e1, &e5, &p2, &r3, &e4, &t1, &e6, &j2};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) env_free(all[i]);
  am_store_close(s);
}

/* ---- readers ------------------------------------------------------------------ */

static void test_each_since_and_kind(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  fx_trust(s, third.pk, "", NOW, NULL, &err);
  am_ann a;
  env o[6];
  o[0] = ev(&other, 1, 1, NOW - 50, NOW + 86400, "event 1");
  o[1] = ev(&other, 2, 2, NOW - 300, NOW + 86400, "event 2");
  job(&a, 1, 3, NOW - 100, NOW + 86400);
  o[2] = seal(&a, &other);
  profile(&a, 7, 4, NOW - 200, "Marie");
  o[3] = seal(&a, &other);
  node(&a, 5, NOW - 400);
  o[4] = seal(&a, &other);
  o[5] = ev(&other, 1, 6, NOW - 10, NOW + 86400, "event 1 again");
  env t[3];
  for (int i = 0; i < 3; i++) t[i] = ev(&third, (uint64_t)i + 1, (uint64_t)i + 1, NOW - 20 * i, NOW + 86400, "t");
  for (int i = 0; i < 6; i++) APPLIED(s, &o[i], NOW);
  for (int i = 2; i >= 0; i--) APPLIED(s, &t[i], NOW);
  walk w;
  CHECK_INT(walk_since(s, other.pk, 0, &w), 0);
  CHECK(versions_are(&w, 5, V(2), V(3), V(4), V(5), V(6))); /* 1 was replaced */
  CHECK_INT(walk_since(s, other.pk, 3, &w), 0);
  CHECK(versions_are(&w, 3, V(4), V(5), V(6)));
  if (w.n == 3) CHECK(memcmp(w.ids[2], o[5].id, 32) == 0);
  CHECK_INT(walk_since(s, other.pk, 5, &w), 0);
  CHECK(versions_are(&w, 1, V(6)));
  CHECK_INT(walk_since(s, other.pk, 6, &w), 0);
  CHECK(versions_are(&w, 0));
  CHECK_INT(walk_since(s, other.pk, UINT64_MAX, &w), 0);
  CHECK(versions_are(&w, 0));
  CHECK_INT(walk_since(s, third.pk, 1, &w), 0);
  CHECK(versions_are(&w, 2, V(2), V(3)));
  CHECK_INT(walk_since(s, me.pk, 0, &w), 0);
  CHECK(versions_are(&w, 0));

  /* By kind: oldest created first. */
  CHECK_INT(walk_kind(s, AM_K_EVENT, &w, 0, 0), 0);
  CHECK_INT(w.n, 5); /* other's 2, third's 3 */
  for (size_t i = 0; i < w.n; i++) CHECK_INT(w.kinds[i], AM_K_EVENT);
  for (size_t i = 1; i < w.n; i++) CHECK(w.created[i - 1] <= w.created[i]);
  if (w.n == 5) {
    CHECK_INT(w.created[0], NOW - 300);
    CHECK_INT(w.created[4], NOW - 0);
  }
  CHECK_INT(walk_kind(s, AM_K_JOB, &w, 0, 0), 0);
  CHECK(versions_are(&w, 1, V(3)));
  CHECK_INT(walk_kind(s, AM_K_PROFILE, &w, 0, 0), 0);
  CHECK(versions_are(&w, 1, V(4)));
  CHECK_INT(walk_kind(s, AM_K_NODE, &w, 0, 0), 0);
  CHECK(versions_are(&w, 1, V(5)));
  CHECK_INT(walk_kind(s, AM_K_RETRACTION, &w, 0, 0), 0);
  CHECK_INT(w.n, 0);
  /* All of them, by id. */
  CHECK_INT(walk_kind(s, -1, &w, 0, 0), 0);
  CHECK_INT(w.n, 8);
  for (size_t i = 1; i < w.n; i++) CHECK(memcmp(w.ids[i - 1], w.ids[i], 32) < 0);
  CHECK_INT(count_held(s), 8);
  /* A walk stops when the callback says so, and returns what it said. */
  CHECK_INT(walk_kind(s, -1, &w, 3, 1), 1);
  CHECK_INT(w.n, 3);
  CHECK_INT(walk_kind(s, AM_K_EVENT, &w, 2, 7), 7);
  CHECK_INT(w.n, 2);
  CHECK_INT(walk_kind(s, AM_K_EVENT, &w, 1, AM_EINVAL), AM_EINVAL);
  CHECK_INT(w.n, 1);
  memset(&w, 0, sizeof w);
  w.origin = other.pk, w.stop_after = 2, w.stop_with = 1;
  CHECK_INT(am_store_read(s, since_fn, &w, NULL), 1);
  CHECK_INT(w.n, 2);
  for (int i = 0; i < 6; i++) env_free(&o[i]);
  for (int i = 0; i < 3; i++) env_free(&t[i]);
  am_store_close(s);
}

typedef struct fnd {
  const char *hex;
  uint8_t id[32];
  int rc;
  am_error err;
} fnd;

static int find_fn(am_txn *t, void *arg) {
  fnd *f = arg;
  memset(&f->err, 0, sizeof f->err);
  f->rc = am_ann_find(t, f->hex, f->id, &f->err);
  return 0;
}

static int find(am_store *s, const char *hex, uint8_t id[32]) {
  fnd f = {.hex = hex};
  CHECK_INT(am_store_read(s, find_fn, &f, NULL), 0);
  if (f.rc == 0 && id) memcpy(id, f.id, 32);
  err = f.err;
  return f.rc;
}

/* Puts raw keys in the ann table, to make prefixes collide (finding two
 * real ids that share 32 bits would take some 65,000 announcements). */
static int fake_fn(am_txn *t, void *arg) {
  const uint8_t(*ids)[32] = arg;
  for (int i = 0; i < 3; i++) {
    MDB_val k = {32, (void *)ids[i]}, v = {1, "x"};
    if (mdb_put(t->txn, am_store_db(t->store, AM_DB_ANN), &k, &v, 0)) return AM_EIO;
  }
  return 0;
}

static void test_find(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  fx_trust(s, other.pk, "", NOW, NULL, &err);
  env e[5];
  for (int i = 0; i < 5; i++) {
    e[i] = ev(&other, (uint64_t)i + 1, (uint64_t)i + 1, NOW, NOW + 86400, "x");
    APPLIED(s, &e[i], NOW);
  }
  for (int i = 0; i < 5; i++) {
    char hex[65], part[65];
    uint8_t id[32];
    am_ann_id_hex(e[i].id, hex);
    memset(id, 0, 32);
    CHECK_INT(find(s, hex, id), 0);
    CHECK(memcmp(id, e[i].id, 32) == 0);
    for (size_t n = 8; n <= 64; n += 7) { /* even and odd lengths */
      memcpy(part, hex, n);
      part[n] = '\0';
      memset(id, 0, 32);
      CHECK_INT(find(s, part, id), 0);
      CHECK(memcmp(id, e[i].id, 32) == 0);
    }
    for (char *p = hex; *p; p++)
      if (*p >= 'a') *p = (char)(*p - 'a' + 'A');
    CHECK_INT(find(s, hex, id), 0);
    CHECK(memcmp(id, e[i].id, 32) == 0);
    /* The same id with its last digit changed is not held. */
    am_ann_id_hex(e[i].id, hex);
    hex[63] = hex[63] == '0' ? '1' : '0';
    CHECK_INT(find(s, hex, id), AM_ENOTFOUND);
  }
  CHECK_INT(find(s, "0123456", NULL), AM_EINVAL); /* too short */
  CHECK(strstr(err.msg, "8 to 64") != NULL);
  CHECK_INT(find(s, "zzzzzzzz", NULL), AM_EINVAL);
  CHECK(strstr(err.msg, "hex") != NULL);
  CHECK_INT(find(s, "0123456g", NULL), AM_EINVAL);
  CHECK_INT(find(s, "01234567 ", NULL), AM_EINVAL);
  char toolong[66];
  memset(toolong, 'a', 65);
  toolong[65] = '\0';
  CHECK_INT(find(s, toolong, NULL), AM_EINVAL);
  env_free(&e[0]);
  for (int i = 1; i < 5; i++) env_free(&e[i]);
  am_store_close(s);

  /* Two ids sharing their first 36 bits, a third its first 32. */
  s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  uint8_t ids[3][32];
  memset(ids, 0x55, sizeof ids);
  memcpy(ids[0], "\xaa\xbb\xcc\xdd\x01", 5);
  memcpy(ids[1], "\xaa\xbb\xcc\xdd\x0f", 5);
  memcpy(ids[2], "\xaa\xbb\xcc\xdd\x2f", 5);
  CHECK_INT(am_store_write(s, fake_fn, ids, NULL), 0);
  uint8_t id[32];
  CHECK_INT(find(s, "aabbccdd", id), AM_EINVAL);
  CHECK(strstr(err.msg, "ambiguous") != NULL);
  CHECK_INT(find(s, "aabbccdd0", id), AM_EINVAL);
  CHECK_INT(find(s, "aabbccdd01", id), 0);
  CHECK(memcmp(id, ids[0], 32) == 0);
  CHECK_INT(find(s, "AABBCCDD0F", id), 0);
  CHECK(memcmp(id, ids[1], 32) == 0);
  CHECK_INT(find(s, "aabbccdd1", id), AM_ENOTFOUND); /* not aabbccdd2f.. */
  CHECK_INT(find(s, "aabbccdd2", id), 0);
  CHECK(memcmp(id, ids[2], 32) == 0);
  CHECK_INT(find(s, "aabbccdd2e", id), AM_ENOTFOUND);
  CHECK_INT(find(s, "aabbccdc", id), AM_ENOTFOUND);
  CHECK_INT(find(s, "aabbccde", id), AM_ENOTFOUND);
  CHECK_INT(find(s, "00000000", id), AM_ENOTFOUND);
  CHECK_INT(find(s, "ffffffff", id), AM_ENOTFOUND);
  am_store_close(s);
}

/* ---- this node's own announcements ----------------------------------------- */

static int meta_fn(am_txn *t, void *arg) {
  uint64_t *v = arg;
  MDB_val k = {11, "ann_version"}, val;
  *v = 0;
  int rc = mdb_get(t->txn, am_store_db(t->store, AM_DB_META), &k, &val);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc || val.mv_size != 8) return AM_ECORRUPT;
  *v = am_get_be64(val.mv_data);
  return 0;
}

static uint64_t counter(am_store *s) {
  uint64_t v = 99999;
  CHECK_INT(am_store_read(s, meta_fn, &v, NULL), 0);
  return v;
}

static int set_counter_fn(am_txn *t, void *arg) {
  uint8_t b[8];
  am_be64(b, *(uint64_t *)arg);
  MDB_val k = {11, "ann_version"}, v = {8, b};
  return mdb_put(t->txn, am_store_db(t->store, AM_DB_META), &k, &v, 0) ? AM_EIO : 0;
}

typedef struct raw_put {
  const char *key;
  const uint8_t *v8;
} raw_put;

static int raw_put_fn(am_txn *t, void *arg) {
  raw_put *r = arg;
  MDB_val k = {strlen(r->key), (void *)r->key}, v = {8, (void *)r->v8};
  return mdb_put(t->txn, am_store_db(t->store, AM_DB_META), &k, &v, 0) ? AM_EIO : 0;
}

static void test_own_versions(void) {
  char dir[256];
  am_store *s = fx_store_fresh(&me, dir);
  REQUIRE(s);
  CHECK_INT(counter(s), 0);
  am_ann a;
  am_buf out = {0};
  uint64_t last = 0;
  /* node, two events, a job, a retraction: versions 1, 2, 3, ... */
  node(&a, 0, 0);
  REQUIRE(publish(s, &a, NOW, &out) == 0);
  CHECK_INT(a.version, 1);
  CHECK_INT(a.created, NOW);
  CHECK(memcmp(a.origin, me.pk, 32) == 0);
  {
    /* The envelope handed back is what is held, and opens. */
    am_ann b;
    int reason;
    CHECK_INT(am_ann_open((const uint8_t *)out.data, out.len, &b, &reason, NULL), 0);
    CHECK(memcmp(b.id, a.id, 32) == 0);
    am_ann_free(&b);
    env e = {.b = out};
    memcpy(e.id, a.id, 32);
    CHECK(holds(s, &e));
  }
  last = a.version;
  am_ann_free(&a);
  CHECK_INT(next_object(s, AM_K_EVENT), 1);
  CHECK_INT(next_object(s, AM_K_EVENT), 2);
  CHECK_INT(next_object(s, AM_K_JOB), 1); /* numbered per kind */
  for (uint64_t obj = 1; obj <= 2; obj++) {
    event(&a, obj, 0, 0, NOW + 86400, "own");
    REQUIRE(publish(s, &a, NOW + (int64_t)obj, NULL) == 0);
    CHECK(a.version > last);
    CHECK_INT(a.created, NOW + (int64_t)obj);
    last = a.version;
    am_ann_free(&a);
  }
  job(&a, 1, 0, 0, NOW + 86400);
  REQUIRE(publish(s, &a, NOW, NULL) == 0);
  CHECK(a.version > last);
  last = a.version;
  am_ann_free(&a);
  CHECK_INT(retract_own(s, AM_K_EVENT, 1, NOW + 10), 0);
  CHECK_INT(counter(s), last + 1);
  last = counter(s);
  CHECK_INT(last, 5);
  am_slot sl;
  REQUIRE(slot_of(s, me.pk, AM_K_EVENT, 1, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  CHECK_INT(sl.version, 5);
  REQUIRE(slot_of(s, me.pk, AM_K_EVENT, 2, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  /* A new version of our own object replaces the old. */
  event(&a, 2, 0, 0, NOW + 86400, "own, edited");
  REQUIRE(publish(s, &a, NOW + 20, NULL) == 0);
  CHECK_INT(a.version, 6);
  am_ann_free(&a);
  CHECK_INT(held(s, sl.id, NULL), AM_ENOTFOUND);
  walk w;
  CHECK_INT(walk_since(s, me.pk, 0, &w), 0);
  CHECK(versions_are(&w, 4, V(1), V(4), V(5), V(6)));

  /* A refused publication takes no version (its transaction aborted). */
  event(&a, 3, 0, 0, NOW + 86400, "no title");
  free(a.body[AM_EV_TITLE].s);
  a.body[AM_EV_TITLE] = (am_aval){0};
  CHECK_INT(publish(s, &a, NOW, NULL), AM_EINVAL);
  CHECK(strstr(err.msg, "'title'") != NULL);
  am_ann_free(&a);
  event(&a, 3, 0, 0, NOW, "expires as it is made");
  CHECK_INT(publish(s, &a, NOW, NULL), AM_EINVAL);
  am_ann_free(&a);
  CHECK_INT(counter(s), 6);

  /* Persisted: after closing and opening the store again. */
  am_store_close(s);
  s = fx_store_open(dir, false, &me);
  REQUIRE(s);
  CHECK_INT(counter(s), 6);
  profile(&a, 77, 0, 0, "Ada");
  REQUIRE(publish(s, &a, NOW, NULL) == 0);
  CHECK_INT(a.version, 7);
  am_ann_free(&a);
  CHECK_INT(next_object(s, AM_K_EVENT), 3);
  CHECK_INT(next_object(s, AM_K_JOB), 2);

  /* A counter behind what is held (a store restored from a backup) does
   * not reuse a version. */
  uint64_t old = 2;
  CHECK_INT(am_store_write(s, set_counter_fn, &old, NULL), 0);
  profile(&a, 78, 0, 0, "Grace");
  REQUIRE(publish(s, &a, NOW, NULL) == 0);
  CHECK_INT(a.version, 8);
  am_ann_free(&a);
  CHECK_INT(counter(s), 8);

  /* The same for object numbers: a counter behind the objects this node
   * has slots for does not hand out one of theirs. Events 1 and 2 are
   * held (event 1 as a retraction); reset the counter to 0. */
  {
    static const char name[] = "ann_object_event";
    uint8_t b[8] = {0};
    am_store_write(s, raw_put_fn, &(raw_put){name, b}, NULL);
    CHECK_INT(next_object(s, AM_K_EVENT), 3); /* above the held 2 (3 was handed out, never used) */
  }

  /* No key, no publication. */
  am_store_set_signer(s, NULL);
  node(&a, 0, 0);
  CHECK_INT(publish(s, &a, NOW, NULL), AM_EUSAGE);
  am_identity public_only = me;
  public_only.sk = NULL;
  am_store_set_signer(s, &public_only);
  CHECK_INT(publish(s, &a, NOW, NULL), AM_EUSAGE);
  am_ann_free(&a);
  CHECK_INT(counter(s), 8);
  am_buf_free(&out);
  am_store_close(s);
}

/* ---- federated profiles ------------------------------------------------------ */

typedef struct mop {
  am_member *m;      /* put this record (id 0: a new member) */
  uint64_t id0, id;  /* or edit member id: */
  int field;
  const char *value; /* set field to value */
  const char *vis;   /* or apply this visibility spec */
  bool remove;
  am_error err;
} mop;

static int mop_fn(am_txn *t, void *arg) {
  mop *o = arg;
  memset(&o->err, 0, sizeof o->err);
  if (o->m) {
    o->m->id = o->id0;
    return am_members_put(t, o->m, 0, &o->err);
  }
  if (o->remove) return am_members_remove(t, o->id, &o->err);
  am_member m;
  int rc = am_members_get(t, o->id, &m, &o->err);
  if (rc) return rc;
  if (o->vis) rc = am_member_set_visibility(&m, o->vis, strlen(o->vis), &o->err);
  else rc = am_member_set(&m, o->field, o->value, strlen(o->value), &o->err);
  if (!rc) rc = am_members_put(t, &m, 0, &o->err);
  am_member_free(&m);
  return rc;
}

static int mrun(am_store *s, mop *o) {
  int rc = am_store_write(s, mop_fn, o, NULL);
  if (rc) fprintf(stderr, "  member change: %s\n", o->err.msg);
  return rc;
}

static uint64_t add_member(am_store *s, am_member *m) {
  mop o = {.m = m, .id0 = m->id};
  CHECK_INT(mrun(s, &o), 0);
  return m->id;
}

static int edit(am_store *s, uint64_t id, int field, const char *value) {
  mop o = {.id = id, .field = field, .value = value};
  return mrun(s, &o);
}

static int edit_vis(am_store *s, uint64_t id, const char *vis) {
  mop o = {.id = id, .vis = vis};
  return mrun(s, &o);
}

static int remove_member(am_store *s, uint64_t id) {
  mop o = {.id = id, .remove = true};
  return mrun(s, &o);
}

static void marie(am_member *m, bool consent) {
  am_member_init(m);
  static const struct {
    int f;
    const char *v;
  } vals[] = {
      {AM_F_GIVEN_NAME, "Marie"},
      {AM_F_FAMILY_NAME, "Curie"},
      {AM_F_EMAILS, "marie.private@example.fr"},
      {AM_F_PHONE, "+33 1 98 76 54 32"},
      {AM_F_PROMO, "1903"},
      {AM_F_EMPLOYER, "Institut du Radium"},
      {AM_F_BIO, "Une biographie réservée à l'école"},
      {AM_F_LINKEDIN, "HTTPS://www.linkedin.com/in/mcurie"},
  };
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
    CHECK_INT(am_member_set(m, vals[i].f, vals[i].v, strlen(vals[i].v), NULL), 0);
  if (consent) m->consent_federation = m->consent_listed = 20251231;
}

/* The current profile of member id: its slot, and the announcement when
 * live (then a holds it; free it). */
static int profile_of(am_store *s, uint64_t id, am_slot *sl, am_ann *a, am_buf *raw) {
  int rc = slot_of(s, me.pk, AM_K_PROFILE, id, sl);
  if (rc) return rc;
  CHECK_INT(load(s, sl->id, a), 0);
  if (raw) held(s, sl->id, raw);
  return 0;
}

static bool contains(const am_buf *b, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; b->data && i + n <= b->len; i++)
    if (memcmp(b->data + i, s, n) == 0) return true;
  return false;
}

static void test_profile_sync(void) {
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  am_member m;
  marie(&m, true);
  uint64_t id = add_member(s, &m);
  am_member_free(&m);
  REQUIRE(id != 0);
  am_slot sl, prev;
  am_ann a;
  am_buf raw = {0};
  REQUIRE(profile_of(s, id, &sl, &a, &raw) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK_INT(sl.ann_kind, AM_K_PROFILE);
  CHECK_INT(sl.created, NOW);
  CHECK_INT(a.object, id);
  CHECK_STR(a.body[AM_F_GIVEN_NAME].s, "Marie");
  CHECK_STR(a.body[AM_F_EMPLOYER].s, "Institut du Radium");
  CHECK_INT(a.body[AM_F_PROMO].u, 1903);
  /* Private and school-only fields never leave: not in the body, not
   * anywhere in the bytes. */
  CHECK(!a.body[AM_F_EMAILS].set);
  CHECK(!a.body[AM_F_PHONE].set);
  CHECK(!a.body[AM_F_BIO].set);
  CHECK(!a.body[AM_F_LINKEDIN].set);
  CHECK(!contains(&raw, "marie.private"));
  CHECK(!contains(&raw, "98 76 54"));
  CHECK(!contains(&raw, "biographie"));
  CHECK(!contains(&raw, "linkedin"));
  am_ann_free(&a);
  prev = sl;
  uint64_t v0 = counter(s);

  /* An edit of a federated field: a new version replaces the old. */
  CHECK_INT(edit(s, id, AM_F_EMPLOYER, "Sorbonne"), 0);
  REQUIRE(profile_of(s, id, &sl, &a, &raw) == 0);
  CHECK(sl.version > prev.version);
  CHECK(memcmp(sl.id, prev.id, 32) != 0);
  CHECK_STR(a.body[AM_F_EMPLOYER].s, "Sorbonne");
  am_ann_free(&a);
  CHECK_INT(held(s, prev.id, NULL), AM_ENOTFOUND);
  CHECK_INT(count_held(s), 1);
  CHECK_INT(counter(s), v0 + 1);
  prev = sl;

  /* Edits that do not change the federated view publish nothing. */
  snap quiet = take(s);
  CHECK_INT(edit(s, id, AM_F_PHONE, "+33 6 00 00 00 00"), 0);        /* private */
  CHECK_INT(edit(s, id, AM_F_BIO, "Une autre biographie"), 0);      /* school */
  CHECK_INT(edit(s, id, AM_F_EMAILS, "marie2@example.fr"), 0);      /* private */
  CHECK_INT(edit(s, id, AM_F_DUES_PAID_UNTIL, "2026-12-31"), 0);    /* admin */
  CHECK_INT(edit(s, id, AM_F_CONSENT_LISTED, "yes"), 0);
  CHECK_INT(edit(s, id, AM_F_EMPLOYER, "Sorbonne"), 0);             /* same value */
  CHECK_INT(edit_vis(s, id, "phone=school"), 0);
  REQUIRE(profile_of(s, id, &sl, &a, NULL) == 0);
  am_ann_free(&a);
  CHECK_INT(sl.version, prev.version);
  CHECK(memcmp(sl.id, prev.id, 32) == 0);
  CHECK_INT(counter(s), v0 + 1);
  snap quiet2 = take(s);
  CHECK_INT(quiet2.n[AM_DB_ANN], quiet.n[AM_DB_ANN]);
  CHECK_INT(quiet2.n[AM_DB_ANN_SEQ], quiet.n[AM_DB_ANN_SEQ]);

  /* Making a field visible to the federation publishes it. */
  CHECK_INT(edit_vis(s, id, "emails=federation"), 0);
  REQUIRE(profile_of(s, id, &sl, &a, &raw) == 0);
  CHECK(sl.version > prev.version);
  CHECK(a.body[AM_F_EMAILS].set);
  CHECK(contains(&raw, "marie2@example.fr"));
  am_ann_free(&a);
  /* ... and hiding it again publishes the profile without it. */
  CHECK_INT(edit_vis(s, id, "emails=private"), 0);
  REQUIRE(profile_of(s, id, &sl, &a, &raw) == 0);
  CHECK(!a.body[AM_F_EMAILS].set);
  CHECK(!contains(&raw, "marie2"));
  am_ann_free(&a);
  prev = sl;

  /* Withdrawing consent retracts: the profile is deleted, the retraction
   * held in its place. */
  CHECK_INT(edit(s, id, AM_F_CONSENT_FEDERATION, "no"), 0);
  REQUIRE(slot_of(s, me.pk, AM_K_PROFILE, id, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  CHECK(sl.version > prev.version);
  CHECK_INT(held(s, prev.id, NULL), AM_ENOTFOUND);
  REQUIRE(load(s, sl.id, &a) == 0);
  CHECK_INT(a.kind, AM_K_RETRACTION);
  CHECK_INT(a.object, id);
  CHECK_INT(a.body[AM_RET_KIND].u, AM_K_PROFILE);
  CHECK_STR(a.body[AM_RET_REASON].s, "consent withdrawn");
  am_ann_free(&a);
  prev = sl;
  /* Without consent, edits publish nothing. */
  CHECK_INT(edit(s, id, AM_F_EMPLOYER, "Collège de France"), 0);
  REQUIRE(slot_of(s, me.pk, AM_K_PROFILE, id, &sl) == 0);
  CHECK_INT(sl.version, prev.version);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  /* Consenting again publishes a newer version. */
  CHECK_INT(edit(s, id, AM_F_CONSENT_FEDERATION, "yes"), 0);
  REQUIRE(profile_of(s, id, &sl, &a, NULL) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK(sl.version > prev.version);
  CHECK_STR(a.body[AM_F_EMPLOYER].s, "Collège de France");
  am_ann_free(&a);
  CHECK_INT(held(s, prev.id, NULL), AM_ENOTFOUND);
  prev = sl;

  /* Removing the member retracts too. */
  CHECK_INT(remove_member(s, id), 0);
  REQUIRE(slot_of(s, me.pk, AM_K_PROFILE, id, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  CHECK(sl.version > prev.version);
  CHECK_INT(held(s, prev.id, NULL), AM_ENOTFOUND);
  REQUIRE(load(s, sl.id, &a) == 0);
  CHECK_STR(a.body[AM_RET_REASON].s, "member removed");
  am_ann_free(&a);
  CHECK_INT(count_held(s), 1);

  /* A member who never consented: nothing at all; removing them neither. */
  uint64_t before = counter(s);
  marie(&m, false);
  am_member_set(&m, AM_F_EMAILS, "other@example.fr", 16, NULL);
  uint64_t id2 = add_member(s, &m);
  am_member_free(&m);
  CHECK_INT(slot_of(s, me.pk, AM_K_PROFILE, id2, NULL), AM_ENOTFOUND);
  CHECK_INT(edit(s, id2, AM_F_EMPLOYER, "Ailleurs"), 0);
  CHECK_INT(remove_member(s, id2), 0);
  CHECK_INT(slot_of(s, me.pk, AM_K_PROFILE, id2, NULL), AM_ENOTFOUND);
  CHECK_INT(counter(s), before);
  am_buf_free(&raw);
  am_store_close(s);
}

typedef struct pp {
  uint64_t id;
  bool publish, changed;
  int rc;
  am_error err;
} pp;

static int pp_fn(am_txn *t, void *arg) {
  pp *p = arg;
  memset(&p->err, 0, sizeof p->err);
  p->changed = false;
  p->rc = am_profile_publish(t, p->id, p->publish, NOW + 50, &p->changed, &p->err);
  return p->rc;
}

static int profile_publish(am_store *s, uint64_t id, bool publish, bool *changed) {
  pp p = {.id = id, .publish = publish};
  am_store_write(s, pp_fn, &p, NULL);
  err = p.err;
  *changed = p.changed;
  return p.rc;
}

typedef struct mget {
  uint64_t id;
  am_member m;
  int rc;
} mget;

static int mget_fn(am_txn *t, void *arg) {
  mget *g = arg;
  g->rc = am_members_get(t, g->id, &g->m, NULL);
  return 0;
}

static void test_profile_publish(void) {
  /* Members added while no key was loaded: consent, but no profile. */
  am_store *s = fx_store_fresh(&me, NULL);
  REQUIRE(s);
  am_store_set_signer(s, NULL);
  am_member m;
  marie(&m, true);
  uint64_t id = add_member(s, &m);
  am_member_free(&m);
  marie(&m, false);
  am_member_set(&m, AM_F_EMAILS, "no.consent@example.fr", 21, NULL);
  uint64_t id2 = add_member(s, &m);
  am_member_free(&m);
  CHECK_INT(count_held(s), 0);
  CHECK_INT(slot_of(s, me.pk, AM_K_PROFILE, id, NULL), AM_ENOTFOUND);
  am_store_set_signer(s, &me);

  bool changed = true;
  CHECK_INT(profile_publish(s, id2, true, &changed), AM_EINVAL);
  CHECK(strstr(err.msg, "consent") != NULL);
  CHECK(!changed);
  CHECK_INT(profile_publish(s, 999999, true, &changed), AM_ENOTFOUND);
  CHECK_INT(slot_of(s, me.pk, AM_K_PROFILE, id2, NULL), AM_ENOTFOUND);

  /* Publishing brings it out; a second time changes nothing. */
  CHECK_INT(profile_publish(s, id, true, &changed), 0);
  CHECK(changed);
  am_slot sl, first;
  am_ann a;
  REQUIRE(profile_of(s, id, &sl, &a, NULL) == 0);
  CHECK_INT(sl.state, AM_SLOT_LIVE);
  CHECK_INT(a.created, NOW + 50);
  CHECK_STR(a.body[AM_F_GIVEN_NAME].s, "Marie");
  am_ann_free(&a);
  first = sl;
  CHECK_INT(profile_publish(s, id, true, &changed), 0);
  CHECK(!changed);
  REQUIRE(slot_of(s, me.pk, AM_K_PROFILE, id, &sl) == 0);
  CHECK_INT(sl.version, first.version);

  /* Unpublishing withdraws the consent, which retracts. */
  CHECK_INT(profile_publish(s, id, false, &changed), 0);
  CHECK(changed);
  mget g = {.id = id};
  CHECK_INT(am_store_read(s, mget_fn, &g, NULL), 0);
  REQUIRE(g.rc == 0);
  CHECK_INT(g.m.consent_federation, 0);
  am_member_free(&g.m);
  REQUIRE(slot_of(s, me.pk, AM_K_PROFILE, id, &sl) == 0);
  CHECK_INT(sl.state, AM_SLOT_RETRACTED);
  CHECK(sl.version > first.version);
  CHECK_INT(held(s, first.id, NULL), AM_ENOTFOUND);
  /* Again: nothing to withdraw. */
  uint64_t v = counter(s);
  CHECK_INT(profile_publish(s, id, false, &changed), 0);
  CHECK(!changed);
  CHECK_INT(counter(s), v);
  /* And publishing now needs the consent back. */
  CHECK_INT(profile_publish(s, id, true, &changed), AM_EINVAL);
  am_store_close(s);
}

int main(void) {
  if (!fx_scratch("announcements")) return 1;
  /* Member writes take their time from AMICALE_NOW. */
  setenv("AMICALE_NOW", NOW_TEXT, 1);
  if (am_identity_generate(&me, NULL) || am_identity_generate(&other, NULL) ||
      am_identity_generate(&third, NULL))
    return 1;
  RUN(test_ingest_and_duplicate);
  RUN(test_rejections_write_nothing);
  RUN(test_replay_stale);
  RUN(test_retraction_ordering);
  RUN(test_tie_lowest_id);
  RUN(test_version_conflict);
  RUN(test_untrust_keeps_slots);
  RUN(test_prune);
  RUN(test_prune_many);
  RUN(test_trust);
  RUN(test_each_since_and_kind);
  RUN(test_find);
  RUN(test_own_versions);
  RUN(test_profile_sync);
  RUN(test_profile_publish);
  am_identity_wipe(&me);
  am_identity_wipe(&other);
  am_identity_wipe(&third);
  if (fx_scratch_remove()) return 1;
  return TEST_SUMMARY();
}
