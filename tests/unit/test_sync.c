/* Replication's set reconciliation: the range codec (proto/sync.c), the
 * id sums kept beside the ann table (store/sync.c), and whole sessions
 * between two stores (store/reconcile.c) that must end with both holding
 * the union, whatever the sizes, the overlap and the caps. Ids are random
 * bytes put straight into the ann table: reconciliation never opens an
 * announcement. */
#include "store/reconcile.h"

#include <sys/stat.h>
#include <unistd.h>

#include "store/sync.h"
#include "tests/test.h"

static char tmproot[] = "/tmp/amicale-test-sync-XXXXXX";
static int seq;
static am_error err;

static am_store *fresh(void) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s/node%d", tmproot, ++seq);
  if (mkdir(dir, 0700)) return NULL;
  am_store *s = NULL;
  am_store_opts o = {.create = true, .map_size = 256u << 20};
  if (am_store_open(&s, dir, &o, &err)) {
    fprintf(stderr, "  open %s: %s\n", dir, err.msg);
    return NULL;
  }
  return s;
}

/* A deterministic stream of ids. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}
static void random_id(uint8_t id[32]) {
  for (int i = 0; i < 32; i += 8) {
    uint64_t v = next();
    memcpy(id + i, &v, 8);
  }
}

typedef struct ids_op {
  const uint8_t *ids;
  size_t n;
  bool remove;
} ids_op;

static int ids_txn(am_txn *t, void *arg) {
  ids_op *o = arg;
  for (size_t i = 0; i < o->n; i++) {
    MDB_val k = {32, (void *)(o->ids + 32 * i)}, v = {1, "x"};
    int rc;
    if (o->remove) {
      rc = mdb_del(t->txn, am_store_db(t->store, AM_DB_ANN), &k, NULL);
      if (rc == MDB_NOTFOUND) continue;
      if (rc || (rc = am_sync_remove(t, k.mv_data, &err))) return rc ? rc : -1;
    } else {
      rc = mdb_put(t->txn, am_store_db(t->store, AM_DB_ANN), &k, &v, MDB_NOOVERWRITE);
      if (rc == MDB_KEYEXIST) continue;
      if (rc || (rc = am_sync_add(t, k.mv_data, &err))) return rc ? rc : -1;
    }
  }
  return 0;
}

static int put_ids(am_store *s, const uint8_t *ids, size_t n) {
  ids_op o = {ids, n, false};
  return am_store_write(s, ids_txn, &o, &err);
}

static int del_ids(am_store *s, const uint8_t *ids, size_t n) {
  ids_op o = {ids, n, true};
  return am_store_write(s, ids_txn, &o, &err);
}

/* ---- the codec ---- */

static void test_range_codec(void) {
  am_buf b = {0};
  am_prefix p = {.depth = 3, .p = {0xab, 0xc0}};
  uint8_t fps[16][AM_FP_LEN];
  for (int i = 0; i < 16; i++) memset(fps[i], i, AM_FP_LEN);
  CHECK_INT(am_range_put_fps(&b, &p, fps), 0);
  uint8_t ids[3 * AM_SID_BYTES] = {0};
  for (int i = 0; i < 3; i++) {
    ids[i * 16] = 0xab, ids[i * 16 + 1] = 0xc0 | (uint8_t)(i + 1);
  }
  CHECK_INT(am_range_put_ids(&b, &p, ids, 3), 0);
  am_prefix root = {0};
  CHECK_INT(am_range_put_ids(&b, &root, NULL, 0), 0);
  CHECK_INT(b.len, am_range_fps_size(&p) + am_range_ids_size(&p, 3) + am_range_ids_size(&root, 0));

  size_t off = 0;
  am_range r;
  CHECK_INT(am_range_next((uint8_t *)b.data, b.len, &off, &r, &err), 1);
  CHECK_INT(r.mode, AM_RANGE_FPS);
  CHECK_INT(r.prefix.depth, 3);
  CHECK(memcmp(r.fps + 5 * AM_FP_LEN, fps[5], AM_FP_LEN) == 0);
  CHECK_INT(am_range_next((uint8_t *)b.data, b.len, &off, &r, &err), 1);
  CHECK_INT(r.mode, AM_RANGE_IDS);
  CHECK_INT(r.n, 3);
  CHECK(memcmp(r.ids, ids, sizeof ids) == 0);
  CHECK_INT(am_range_next((uint8_t *)b.data, b.len, &off, &r, &err), 1);
  CHECK_INT(r.n, 0);
  CHECK_INT(r.prefix.depth, 0);
  CHECK_INT(am_range_next((uint8_t *)b.data, b.len, &off, &r, &err), 0);

  /* Every way to break it is refused with a reason. */
  uint8_t *d = (uint8_t *)b.data;
  size_t fl = am_range_fps_size(&p);
  struct {
    size_t at;
    uint8_t v;
    const char *says;
  } bad[] = {
      {0, 7, "unknown mode"},
      {1, 33, "out of range"},
      {3, 0xc5, "bits past its depth"},
      {fl + 2 + 2 + 2 + 1, 0x00, "not under the prefix"},      /* first id's 2nd byte */
      {fl + 2 + 2 + 2 + 16 + 1, 0xc1, "increasing order"},    /* second = first */
      {fl + 2 + 2, 0x10, "more than"},                        /* n = 4096+ */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t old = d[bad[i].at];
    d[bad[i].at] = bad[i].v;
    off = 0;
    int rc;
    while ((rc = am_range_next(d, b.len, &off, &r, &err)) == 1) {}
    CHECK_INT(rc, AM_EINVAL);
    if (!strstr(err.msg, bad[i].says)) fprintf(stderr, "  case %zu: %s\n", i, err.msg);
    CHECK(strstr(err.msg, bad[i].says) != NULL);
    d[bad[i].at] = old;
  }
  /* FPS at the deepest depth, and any truncation. */
  for (size_t cut = 1; cut < fl; cut++) {
    off = 0;
    CHECK_INT(am_range_next(d, cut, &off, &r, &err), AM_EINVAL);
  }
  am_buf_free(&b);
}

/* ---- sums ---- */

typedef struct range_op {
  am_prefix p;
  am_setsum s, kids[16];
} range_op;

static int range_txn(am_txn *t, void *arg) {
  range_op *o = arg;
  int rc = am_sync_range(t, &o->p, &o->s, &err);
  if (!rc && o->p.depth < AM_SYNC_MAX_DEPTH) rc = am_sync_children(t, &o->p, o->kids, &err);
  return rc;
}

static void brute(const uint8_t *ids, const bool *live, size_t n, const am_prefix *p,
                  am_setsum *s) {
  memset(s, 0, sizeof *s);
  for (size_t i = 0; i < n; i++)
    if (live[i] && am_prefix_match(p, ids + 32 * i)) am_setsum_add(s, ids + 32 * i);
}

static void test_sums(void) {
  am_store *s = fresh();
  REQUIRE(s);
  enum { N = 3000 };
  uint8_t *ids = malloc(32 * N);
  bool *live = calloc(N, 1);
  REQUIRE(ids && live);
  for (size_t i = 0; i < N; i++) random_id(ids + 32 * i), live[i] = true;
  CHECK_INT(put_ids(s, ids, N), 0);
  /* remove every third */
  for (size_t i = 0; i < N; i += 3) {
    CHECK_INT(del_ids(s, ids + 32 * i, 1), 0);
    live[i] = false;
  }
  for (int depth = 0; depth <= 6; depth++) {
    for (int k = 0; k < 5; k++) {
      range_op o = {.p = {.depth = (uint8_t)depth}};
      /* a prefix of a live id, so the range is not empty */
      size_t pick = 1 + 3 * (size_t)k;
      memcpy(o.p.p, ids + 32 * pick, AM_SID_BYTES);
      for (unsigned i = (unsigned)depth; i < 32; i++) {
        if (i % 2 == 0) o.p.p[i / 2] = 0;
        else o.p.p[i / 2] &= 0xf0;
      }
      CHECK_INT(am_store_read(s, range_txn, &o, &err), 0);
      am_setsum want;
      brute(ids, live, N, &o.p, &want);
      CHECK(want.count > 0);
      CHECK_INT(o.s.count, want.count);
      CHECK(memcmp(o.s.sum, want.sum, 32) == 0);
      for (int c = 0; c < 16; c++) {
        am_prefix cp = am_prefix_child(&o.p, c);
        brute(ids, live, N, &cp, &want);
        CHECK_INT(o.kids[c].count, want.count);
        CHECK(memcmp(o.kids[c].sum, want.sum, 32) == 0);
      }
    }
  }
  /* Sum arithmetic: adding then subtracting gives the empty set back, and
   * the empty set's fingerprint is zeros. */
  am_setsum z = {{0}, 0};
  for (size_t i = 0; i < 50; i++) am_setsum_add(&z, ids + 32 * i);
  for (size_t i = 0; i < 50; i++) am_setsum_sub(&z, ids + 32 * (49 - i));
  uint8_t fp[AM_FP_LEN], zero[AM_FP_LEN] = {0};
  am_setsum_fp(&z, fp);
  CHECK_INT(z.count, 0);
  CHECK(memcmp(fp, zero, AM_FP_LEN) == 0);
  am_setsum one = {{0}, 0};
  am_setsum_add(&one, ids);
  am_setsum_fp(&one, fp);
  CHECK(memcmp(fp, zero, AM_FP_LEN) != 0);
  free(ids);
  free(live);
  am_store_close(s);
}

/* ---- sessions between two stores ---- */

typedef struct ans_op {
  am_rec *r;
  const am_buf *in;
  size_t nin;
  bool begin;
} ans_op;

static int ans_txn(am_txn *t, void *arg) {
  ans_op *o = arg;
  am_rec_clear(o->r);
  if (o->begin) return am_rec_begin(t, o->r, &err);
  for (size_t i = 0; i < o->nin; i++) {
    int rc = am_rec_answer(t, o->r, (const uint8_t *)o->in[i].data, o->in[i].len, &err);
    if (rc) return rc;
  }
  return 0;
}

typedef struct find_op {
  const uint8_t *sids;
  size_t n;
  uint8_t *ids; /* found full ids */
  size_t found;
} find_op;

static int find_txn(am_txn *t, void *arg) {
  find_op *o = arg;
  o->found = 0;
  for (size_t i = 0; i < o->n; i++)
    if (am_sync_find(t, o->sids + AM_SID_BYTES * i, o->ids + 32 * o->found) == 0) o->found++;
  return 0;
}

/* from gives to `to` the announcements whose short ids are listed. */
static void transfer(am_store *from, am_store *to, const am_buf *sids, size_t *moved) {
  size_t n = sids->len / AM_SID_BYTES;
  if (!n) return;
  find_op f = {(const uint8_t *)sids->data, n, malloc(32 * n), 0};
  CHECK_INT(am_store_read(from, find_txn, &f, &err), 0);
  CHECK_INT(f.found, n);
  CHECK_INT(put_ids(to, f.ids, f.found), 0);
  *moved += f.found;
  free(f.ids);
}

typedef struct stats {
  size_t sessions, messages, bytes, offered, wanted;
} stats;

/* Sessions until one ends settled; returns the number of sessions. */
static void reconcile(am_store *a, am_store *b, size_t ranges_max, size_t offers_max,
                      stats *st) {
  memset(st, 0, sizeof *st);
  am_rec ra, rb;
  am_rec_init(&ra, ranges_max, 65536, offers_max, 1 << 20);
  am_rec_init(&rb, ranges_max, 65536, offers_max, 1 << 20);
  for (int session = 0; session < 50; session++) {
    st->sessions++;
    bool partial = false;
    ans_op o = {.r = &ra, .begin = true};
    CHECK_INT(am_store_read(a, ans_txn, &o, &err), 0);
    am_rec *cur = &ra, *other = &rb;
    am_store *cs = a, *os = b;
    for (int round = 0; round < 100; round++) {
      partial |= cur->partial;
      /* cur's output goes to the other side */
      st->messages++;
      for (size_t i = 0; i < cur->nchunks; i++) st->bytes += cur->chunks[i].len;
      /* offers: the receiver wants what it lacks; wants: the holder gives */
      st->offered += cur->offers.len / AM_SID_BYTES;
      st->wanted += cur->wants.len / AM_SID_BYTES;
      st->bytes += cur->offers.len + cur->wants.len;
      size_t moved = 0;
      transfer(cs, os, &cur->offers, &moved);
      transfer(os, cs, &cur->wants, &moved);
      if (am_rec_empty(cur)) break;
      ans_op n = {.r = other, .in = cur->chunks, .nin = cur->nchunks};
      CHECK_INT(am_store_read(os, ans_txn, &n, &err), 0);
      am_rec *tr = cur;
      cur = other, other = tr;
      am_store *ts = cs;
      cs = os, os = ts;
    }
    if (!partial) break;
  }
  am_rec_free(&ra);
  am_rec_free(&rb);
}

typedef struct all_op {
  am_buf ids;
} all_op;

static int all_cb(const uint8_t id[static 32], void *arg) {
  return am_buf_append(&((all_op *)arg)->ids, (const char *)id, 32) ? -1 : 0;
}

static int all_txn(am_txn *t, void *arg) {
  am_prefix root = {0};
  return am_sync_each(t, &root, all_cb, arg, &err);
}

static bool same_sets(am_store *a, am_store *b) {
  all_op x = {{0}}, y = {{0}};
  bool ok = am_store_read(a, all_txn, &x, &err) == 0 && am_store_read(b, all_txn, &y, &err) == 0 &&
            x.ids.len == y.ids.len && (x.ids.len == 0 || memcmp(x.ids.data, y.ids.data, x.ids.len) == 0);
  am_buf_free(&x.ids);
  am_buf_free(&y.ids);
  return ok;
}

/* common ids in both, only_a in a, only_b in b. */
static void fill(am_store *a, am_store *b, size_t common, size_t only_a, size_t only_b) {
  size_t n = common + only_a + only_b;
  uint8_t *ids = malloc(32 * (n ? n : 1));
  for (size_t i = 0; i < n; i++) random_id(ids + 32 * i);
  CHECK_INT(put_ids(a, ids, common + only_a), 0);
  CHECK_INT(put_ids(b, ids, common), 0);
  CHECK_INT(put_ids(b, ids + 32 * (common + only_a), only_b), 0);
  free(ids);
}

static void test_sessions(void) {
  struct {
    size_t common, only_a, only_b;
  } cases[] = {{0, 0, 0},    {0, 10, 0},   {0, 0, 10},     {5, 1, 0},      {40, 0, 1},
               {3000, 1, 0}, {3000, 0, 1}, {3000, 7, 9},   {2000, 500, 0}, {0, 2500, 0},
               {0, 0, 2500}, {1500, 800, 900}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    am_store *a = fresh(), *b = fresh();
    REQUIRE(a && b);
    fill(a, b, cases[i].common, cases[i].only_a, cases[i].only_b);
    stats st;
    reconcile(a, b, 4u << 20, 1u << 20, &st);
    bool same = same_sets(a, b);
    if (!same) fprintf(stderr, "  case %zu: sets differ after %zu sessions\n", i, st.sessions);
    CHECK(same);
    CHECK_INT(st.sessions, 1);
    /* Nothing offered or wanted that was not missing. */
    CHECK(st.offered + st.wanted == cases[i].only_a + cases[i].only_b);
    am_store_close(a);
    am_store_close(b);
  }
}

/* One difference in a large set: few rounds, little traffic. */
static void test_one_difference(void) {
  am_store *a = fresh(), *b = fresh();
  REQUIRE(a && b);
  fill(a, b, 20000, 1, 0);
  stats st;
  reconcile(a, b, 4u << 20, 1u << 20, &st);
  CHECK(same_sets(a, b));
  /* 20,000 ids: FPS at the root, then depth 1, 2 (about 78 ids), then a
   * list at depth 3: at most 5 messages (two and a half round trips). */
  CHECK(st.messages <= 5);
  CHECK(st.bytes < 2000);
  fprintf(stderr, "  one difference in 20,000: %zu messages, %zu bytes\n", st.messages, st.bytes);
  am_store_close(a);
  am_store_close(b);
}

/* Caps far below what the difference needs: several sessions, each one
 * making progress, and the sets still meet. */
static void test_caps(void) {
  am_store *a = fresh(), *b = fresh();
  REQUIRE(a && b);
  fill(a, b, 2000, 700, 600);
  stats st;
  reconcile(a, b, 4096, 100, &st);
  CHECK(same_sets(a, b));
  CHECK(st.sessions > 1);
  am_store_close(a);
  am_store_close(b);
}

/* A hostile round (the same costly entry over and over) costs a bounded
 * amount of work, and offers that do not fit do not stop the wants. */
static void test_budget(void) {
  am_store *a = fresh(), *b = fresh();
  REQUIRE(a && b);
  fill(a, b, 0, 5000, 0);
  am_buf in = {0};
  am_prefix root = {0};
  for (int i = 0; i < 1000; i++) CHECK_INT(am_range_put_ids(&in, &root, NULL, 0), 0);
  am_rec r;
  am_rec_init(&r, 1 << 20, 65536, 100, 1000);
  r.work_max = 20000;
  ans_op o = {.r = &r, .in = &in, .nin = 1};
  CHECK_INT(am_store_read(a, ans_txn, &o, &err), 0);
  CHECK(r.partial);
  CHECK(r.work <= 20000 + 5000);
  CHECK(r.offers.len / AM_SID_BYTES <= 100);
  am_rec_free(&r);
  am_buf_free(&in);
  /* Their list of 3 ids we lack, and our 5000 they lack with room to offer
   * only 10: all 3 are still wanted. */
  uint8_t ids[3][AM_SID_BYTES];
  for (int i = 0; i < 3; i++) memset(ids[i], 0x10 * (i + 1), AM_SID_BYTES);
  am_buf in2 = {0};
  CHECK_INT(am_range_put_ids(&in2, &root, ids[0], 3), 0);
  am_rec_init(&r, 1 << 20, 65536, 10, 1000);
  ans_op o2 = {.r = &r, .in = &in2, .nin = 1};
  CHECK_INT(am_store_read(a, ans_txn, &o2, &err), 0);
  CHECK(r.partial);
  CHECK_INT(r.offers.len / AM_SID_BYTES, 10);
  CHECK_INT(r.wants.len / AM_SID_BYTES, 3);
  am_rec_free(&r);
  am_buf_free(&in2);
  am_store_close(a);
  am_store_close(b);
}

/* Damaged rounds are refused and change nothing. */
static void test_bad_round(void) {
  am_store *a = fresh();
  REQUIRE(a);
  uint8_t junk[40] = {1, 2, 0xff};
  am_buf in = {(char *)junk, sizeof junk, sizeof junk};
  am_rec r;
  am_rec_init(&r, 1 << 20, 65536, 1000, 1000);
  ans_op o = {.r = &r, .in = &in, .nin = 1};
  CHECK_INT(am_store_read(a, ans_txn, &o, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "sync entry") != NULL);
  am_rec_free(&r);
  am_store_close(a);
}

int main(void) {
  if (!mkdtemp(tmproot)) return 1;
  RUN(test_range_codec);
  RUN(test_sums);
  RUN(test_sessions);
  RUN(test_one_difference);
  RUN(test_caps);
  RUN(test_budget);
  RUN(test_bad_round);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmproot);
  if (system(cmd)) {}
  return TEST_SUMMARY();
}
