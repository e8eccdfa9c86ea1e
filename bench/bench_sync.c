/* Reconciliation benchmark (docs/PROTOCOL.md section 15).
 *
 * Two stores hold the same N announcement ids (default runs: 100,000 and
 * 1,000,000) and differ by k announcements (1, 100, 10,000): k = 1 is held
 * by A only, otherwise half by A only and half by B only. The common ids
 * are random, put straight into the ann table with am_sync_add as
 * tests/unit/test_sync.c does (reconciliation only reads ids; their value,
 * a filler of [value-bytes], only sets how many share an LMDB page); the
 * store is built once per size, in sorted order (full pages, as after a
 * compacting copy; random order would only slow the build), and copied for B
 * (mdb_env_copy2). The k differing ones are real signed announcements -
 * events and member profiles as bench_ingest makes them (bench/common.c) -
 * sealed by five origins both stores trust and taken in with
 * am_ann_ingest, so what travels is exactly what a node would send.
 *
 * Then one reconciliation runs between them in this process, exactly as
 * two nodes run it (node/replicate.c): A, the initiator, opens a session;
 * rounds alternate, each answered message by message with am_rec_answer
 * under the node's caps (8 MiB of ranges per round, AM_SYNC_BYTES_MAX per
 * message, 262,144 offers and wants per round); offers are answered by
 * wants of the ids the receiver lacks; wants (at most 4 unanswered, 4,096
 * ids each) by the announcements then a `sent`; those are ingested with
 * am_ann_ingest. An unsettled session (a cap was hit) is followed by
 * another once the fetch is over. Every message is encoded with
 * am_msg_encode and decoded with am_msg_decode by the receiver, and
 * counted as it would be on the wire: its bytes plus, per 65,518-byte
 * chunk, 2 (frame length) + 1 (chunk flags) + 16 (tag) (section 14.4).
 *
 * Time advances in half-trips: what a node sends while handling what
 * arrived at step s arrives at step s + 1. Round trips of reconciliation =
 * sync rounds / 2, rounded up; "+half" is how many further half-trips
 * until the last announcement arrived (offer -> want -> announce).
 *
 * For each (N, k) it prints: round trips, reconciliation bytes (sync,
 * offer, want, sent), the bytes of the differing envelopes themselves (the
 * baseline: what any protocol must move), body bytes (announce messages),
 * total traffic and total / differing; then whether the targets are met:
 * 1 difference in 1,000,000 in <= 3 round trips and <= 4 KB of
 * reconciliation (negentropy: about 3 round trips and 1.5 KB), and 10,000
 * differences with total traffic <= 2x the differing bytes. A second table
 * splits the sync bytes by kind of entry and depth. The run fails (exit 1)
 * unless both stores end with the same root fingerprint.
 *
 * The common part is N plus the differences of the earlier cases of the
 * same size (they are kept: both stores hold them once reconciled), so at
 * most N + 101 ids.
 *
 * usage: bench_sync [N] [value-bytes] [k,k,...]
 *   N: one size (default 100,000 then 1,000,000); value-bytes: the filler
 *   of the common ids (default 600, about a profile's envelope); k: the
 *   differences to try, in increasing order (default 1,100,10000). */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/common.h"
#include "crypto/sign.h"
#include "proto/session.h"
#include "store/announcements.h"
#include "store/reconcile.h"
#include "store/sync.h"

#define ORIGINS 5
#define NEGENTROPY_BYTES 1500 /* its reported figures for 1 in 1,000,000 */
#define NEGENTROPY_TRIPS 3

/* node/replicate.c's caps (-D to see unsettled sessions follow each other). */
#ifndef REC_ROUND_MAX
#define REC_ROUND_MAX (8u << 20)
#endif
#ifndef REC_OFFERS_MAX
#define REC_OFFERS_MAX (1u << 18)
#endif
#define REC_WANTS_MAX REC_OFFERS_MAX
#define FETCH_MAX (1u << 18)

/* The run's temporary directory, removed at exit whatever happens. */
static char tmpdir[] = "/tmp/amicale-bench-sync-XXXXXX";
static bool tmpdir_made;
static void cleanup(void) {
  if (tmpdir_made) bench_rm_rf(tmpdir);
}

static void die(const char *what, const am_error *err, int rc) {
  fprintf(stderr, "bench_sync: %s: %s\n", what, am_error_text(err, rc));
  exit(1);
}

/* The run's random state: the common ids and the differing announcements. */
static gen rng = GEN_INIT;

/* ---- the differing announcements (bench/common.c) ---- */

typedef struct origins {
  am_identity id[ORIGINS];
  uint64_t version[ORIGINS], object[ORIGINS][AM_K__COUNT];
  uint64_t sealed[AM_K__COUNT], sealed_bytes[AM_K__COUNT];
} origins;

/* k envelopes, events and profiles in turn, concatenated in out; lens[i]
 * is the length of the i-th. */
static void seal_some(origins *o, size_t k, uint64_t now, am_buf *out, size_t *lens) {
  for (size_t i = 0; i < k; i++) {
    int who = (int)(i % ORIGINS), kind = i % 2 ? AM_K_PROFILE : AM_K_EVENT;
    am_ann a;
    am_ann_init(&a, kind);
    a.object = ++o->object[who][kind];
    a.version = ++o->version[who];
    a.created = now - 3600 + gen_rnd(&rng, 3000);
    gen_body(&rng, &a, now);
    am_error err = {0};
    size_t before = out->len;
    int rc = am_ann_seal(&a, &o->id[who], out, &err);
    if (rc) die("seal", &err, rc);
    lens[i] = out->len - before;
    o->sealed[kind]++;
    o->sealed_bytes[kind] += lens[i];
    am_ann_free(&a);
  }
}

typedef struct ingest_op {
  const uint8_t *p;
  const size_t *lens;
  size_t n;
  int64_t now;
  am_error err;
} ingest_op;

static int ingest_txn(am_txn *t, void *arg) {
  ingest_op *o = arg;
  const uint8_t *p = o->p;
  for (size_t i = 0; i < o->n; i++) {
    am_ingest r;
    int rc = am_ann_ingest(t, p, o->lens[i], o->now, &r, &o->err);
    if (rc) return rc;
    if (!r.applied) {
      fprintf(stderr, "bench_sync: announcement %zu not applied (%s): %s\n", i,
              am_reject_name(r.reason), o->err.msg);
      return AM_EINTERNAL;
    }
    p += o->lens[i];
  }
  return 0;
}

static void ingest(am_store *s, const uint8_t *p, const size_t *lens, size_t n, int64_t now) {
  if (!n) return;
  ingest_op o = {p, lens, n, now, {0}};
  int rc = am_store_write(s, ingest_txn, &o, &o.err);
  if (rc) die("ingest", &o.err, rc);
}

/* ---- the common part ---- */

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

typedef struct fill_op {
  const uint8_t *ids;
  size_t n;
  size_t vlen;
  am_error err;
} fill_op;

static int fill_txn(am_txn *t, void *arg) {
  fill_op *o = arg;
  MDB_dbi ann = am_store_db(t->store, AM_DB_ANN);
  uint8_t val[4096];
  for (size_t i = 0; i < o->n; i++) {
    const uint8_t *id = o->ids + 32 * i;
    for (size_t j = 0; j < o->vlen; j++) val[j] = id[j % 32] ^ (uint8_t)j;
    MDB_val k = {32, (void *)id}, v = {o->vlen, val};
    int rc = mdb_put(t->txn, ann, &k, &v, MDB_APPEND);
    if (rc) return am_store_mdb_error(t, rc, "filling the ann table", &o->err);
    if ((rc = am_sync_add(t, id, &o->err))) return rc;
  }
  return 0;
}

typedef struct trust_op {
  const origins *o;
  am_error err;
} trust_op;

static int trust_txn(am_txn *t, void *arg) {
  trust_op *a = arg;
  for (int i = 0; i < ORIGINS; i++) {
    am_trust tr = {.added = (int64_t)time(NULL)};
    memcpy(tr.key, a->o->id[i].pk, AM_ANN_KEY_BYTES);
    snprintf(tr.name, sizeof tr.name, "Origin %d", i);
    int rc = am_trust_add(t, &tr, NULL, &a->err);
    if (rc) return rc;
  }
  return 0;
}

static am_store *open_store(const char *dir, size_t map, bool create) {
  am_store *s = NULL;
  am_error err = {0};
  am_store_opts o = {.create = create, .map_size = map};
  mkdir(dir, 0700);
  int rc = am_store_open(&s, dir, &o, &err);
  if (rc) die(dir, &err, rc);
  return s;
}

/* A with n random ids and the trust list, and B a copy of it. */
static void build(const char *da, const char *db, size_t n, size_t vlen, size_t map,
                  const origins *or, am_store **a, am_store **b) {
  uint8_t *ids = malloc(32 * n);
  for (size_t i = 0; i < 32 * n; i += 8) {
    uint64_t v = gen_next64(&rng);
    memcpy(ids + i, &v, 8);
  }
  /* Sorted, so the puts append: the build takes seconds, not minutes. */
  qsort(ids, n, 32, cmp_id);
  *a = open_store(da, map, true);
  trust_op to = {or, {0}};
  int rc = am_store_write(*a, trust_txn, &to, &to.err);
  if (rc) die("trust", &to.err, rc);
  const size_t batch = 200000;
  for (size_t i = 0; i < n; i += batch) {
    fill_op fo = {ids + 32 * i, n - i < batch ? n - i : batch, vlen, {0}};
    if ((rc = am_store_write(*a, fill_txn, &fo, &fo.err))) die("fill", &fo.err, rc);
  }
  free(ids);
  char path[600];
  snprintf(path, sizeof path, "%s/store", db);
  mkdir(db, 0700);
  mkdir(path, 0700);
  if ((rc = mdb_env_copy2(am_store_env(*a), path, 0))) {
    fprintf(stderr, "bench_sync: copying the store: %s\n", mdb_strerror(rc));
    exit(1);
  }
  *b = open_store(db, map, false);
}

/* ---- a set of short ids (a node's "fetching") ---- */

typedef struct sidset {
  uint8_t (*k)[AM_SID_BYTES];
  uint8_t *st; /* 0 empty, 1 used, 2 deleted */
  size_t cap, used, dead;
} sidset;

static size_t sid_slot(const sidset *s, const uint8_t *sid, bool insert) {
  uint64_t h;
  memcpy(&h, sid + 4, 8); /* ids are hashes: any bytes will do */
  size_t i = (size_t)h & (s->cap - 1), tomb = SIZE_MAX;
  for (;; i = (i + 1) & (s->cap - 1)) {
    if (s->st[i] == 0) return insert && tomb != SIZE_MAX ? tomb : i;
    if (s->st[i] == 2) {
      if (tomb == SIZE_MAX) tomb = i;
    } else if (memcmp(s->k[i], sid, AM_SID_BYTES) == 0) {
      return i;
    }
  }
}

static void sid_grow(sidset *s) {
  sidset n = {0};
  n.cap = s->cap ? (s->used * 4 > s->cap ? 2 * s->cap : s->cap) : 1024;
  n.k = malloc(n.cap * AM_SID_BYTES);
  n.st = calloc(n.cap, 1);
  for (size_t i = 0; i < s->cap; i++)
    if (s->st[i] == 1) {
      size_t j = sid_slot(&n, s->k[i], true);
      memcpy(n.k[j], s->k[i], AM_SID_BYTES);
      n.st[j] = 1;
      n.used++;
    }
  free(s->k);
  free(s->st);
  *s = n;
}

static bool sid_has(const sidset *s, const uint8_t *sid) {
  return s->cap && s->st[sid_slot(s, sid, false)] == 1;
}
static void sid_add(sidset *s, const uint8_t *sid) {
  if ((s->used + s->dead + 1) * 2 > s->cap) sid_grow(s);
  size_t i = sid_slot(s, sid, true);
  if (s->st[i] == 1) return;
  if (s->st[i] == 2) s->dead--;
  memcpy(s->k[i], sid, AM_SID_BYTES);
  s->st[i] = 1;
  s->used++;
}
static void sid_remove(sidset *s, const uint8_t *sid) {
  if (!s->cap) return;
  size_t i = sid_slot(s, sid, false);
  if (s->st[i] != 1) return;
  s->st[i] = 2;
  s->used--, s->dead++;
}
static void sid_free(sidset *s) {
  free(s->k);
  free(s->st);
  memset(s, 0, sizeof *s);
}

/* ---- what was sent ---- */

typedef struct result {
  uint64_t msgs[AM_MSG__KNOWN], bytes[AM_MSG__KNOWN]; /* wire bytes by type */
  uint64_t entries[2][AM_SYNC_MAX_DEPTH + 1], entry_bytes[2][AM_SYNC_MAX_DEPTH + 1];
  uint64_t diff_bytes;
  size_t sessions, rounds, offered, wanted, missing;
  int last_sync_step, last_step;
  double secs, rec_secs; /* whole exchange; answering rounds alone */
} result;

/* Bytes on the wire of a message of len bytes (section 14.4). */
static uint64_t wire(size_t len) {
  size_t chunks = len ? (len + AM_CHUNK_MAX - 1) / AM_CHUNK_MAX : 1;
  return len + chunks * (2 + 1 + AM_FRAME_TAG);
}

typedef struct qmsg {
  am_buf enc; /* the message as am_msg_encode wrote it */
  struct qmsg *next;
} qmsg;

typedef struct queue {
  qmsg *head, *tail;
} queue;

typedef struct want_batch {
  uint8_t *sids;
  uint32_t n;
} want_batch;

/* One side, with the state node/replicate.c keeps per connection. */
typedef struct node {
  const char *name;
  am_store *s;
  bool initiator;
  am_rec rec;
  bool session, partial, again;
  size_t round_in, round_offers, round_wants;
  uint8_t *fetch; /* FIFO of short ids to want */
  size_t fetch_head, fetch_len, fetch_cap;
  sidset fetching;
  want_batch asked[AM_WANTS_OUT];
  int nasked;
  qmsg *inbox[64]; /* announces waiting for their write transaction */
  size_t ninbox;
  queue out; /* sent during this step, delivered at the next */
  result *res;
  am_error err;
} node;

static void emit(node *n, const am_msg *m) {
  qmsg *q = calloc(1, sizeof *q);
  int rc = am_msg_encode(m, &q->enc, &n->err);
  if (rc) die("encode", &n->err, rc);
  result *r = n->res;
  r->msgs[m->type]++;
  r->bytes[m->type] += wire(q->enc.len);
  if (m->type == AM_MSG_SYNC) {
    size_t off = 0, at = 0;
    am_range e;
    while ((rc = am_range_next(m->data, m->data_len, &off, &e, &n->err)) == 1) {
      r->entries[e.mode][e.prefix.depth]++;
      r->entry_bytes[e.mode][e.prefix.depth] += off - at;
      at = off;
    }
    if (rc) die("our own sync", &n->err, rc);
  }
  if (n->out.tail) n->out.tail->next = q;
  else n->out.head = q;
  n->out.tail = q;
}

static void emit_ids(node *n, uint64_t type, const uint8_t *sids, size_t k) {
  size_t max = type == AM_MSG_OFFER ? AM_OFFER_MAX : AM_WANT_MAX;
  while (k) {
    size_t c = k < max ? k : max;
    am_msg m = {.type = type, .data = sids, .nids = c};
    emit(n, &m);
    sids += c * AM_SID_BYTES;
    k -= c;
  }
}

static void fetch_push(node *n, const uint8_t *sid) {
  if (sid_has(&n->fetching, sid)) return;
  if (n->fetch_len >= FETCH_MAX) {
    n->again = true;
    return;
  }
  if (n->fetch_head + n->fetch_len == n->fetch_cap) {
    if (n->fetch_head) {
      memmove(n->fetch, n->fetch + n->fetch_head * AM_SID_BYTES, n->fetch_len * AM_SID_BYTES);
      n->fetch_head = 0;
    }
    if (n->fetch_len == n->fetch_cap) {
      n->fetch_cap = n->fetch_cap ? 2 * n->fetch_cap : 256;
      n->fetch = realloc(n->fetch, n->fetch_cap * AM_SID_BYTES);
    }
  }
  sid_add(&n->fetching, sid);
  memcpy(n->fetch + (n->fetch_head + n->fetch_len) * AM_SID_BYTES, sid, AM_SID_BYTES);
  n->fetch_len++;
}

static void send_wants(node *n) {
  while (n->fetch_len && n->nasked < AM_WANTS_OUT) {
    uint32_t k = n->fetch_len < AM_WANT_MAX ? (uint32_t)n->fetch_len : AM_WANT_MAX;
    want_batch *b = &n->asked[n->nasked++];
    b->sids = malloc((size_t)k * AM_SID_BYTES);
    memcpy(b->sids, n->fetch + n->fetch_head * AM_SID_BYTES, (size_t)k * AM_SID_BYTES);
    b->n = k;
    n->fetch_head += k;
    n->fetch_len -= k;
    if (!n->fetch_len) n->fetch_head = 0;
    n->res->wanted += k;
    emit_ids(n, AM_MSG_WANT, b->sids, k);
  }
}

/* take_round_output of node/replicate.c. */
static void take_round_output(node *n, bool round_end) {
  am_rec *rec = &n->rec;
  size_t no = rec->offers.len / AM_SID_BYTES, nw = rec->wants.len / AM_SID_BYTES;
  emit_ids(n, AM_MSG_OFFER, (const uint8_t *)rec->offers.data, no);
  n->res->offered += no;
  for (size_t i = 0; i < nw; i++) fetch_push(n, (const uint8_t *)rec->wants.data + i * AM_SID_BYTES);
  rec->offers.len = rec->wants.len = 0;
  if (nw) send_wants(n);
  n->round_offers += no;
  n->round_wants += nw;
  if (!round_end) return;
  n->round_offers = n->round_wants = 0;
  if (rec->partial) n->partial = true;
  uint64_t last = n->partial ? AM_SYNC_PARTIAL : 0;
  n->res->rounds++;
  if (rec->nchunks == 0) {
    am_msg m = {.type = AM_MSG_SYNC, .flags = last};
    emit(n, &m);
  } else {
    for (size_t i = 0; i < rec->nchunks; i++) {
      uint64_t f = i + 1 == rec->nchunks ? last : AM_SYNC_MORE;
      if (i == 0 && !n->session) f |= AM_SYNC_START;
      am_msg m = {.type = AM_MSG_SYNC, .flags = f, .data = (const uint8_t *)rec->chunks[i].data,
                  .data_len = rec->chunks[i].len};
      emit(n, &m);
    }
  }
  am_rec_clear(rec);
}

typedef struct rec_op {
  node *n;
  const am_msg *m; /* NULL: begin */
} rec_op;

static int rec_txn(am_txn *t, void *arg) {
  rec_op *o = arg;
  node *n = o->n;
  if (!o->m) return am_rec_begin(t, &n->rec, &n->err);
  n->rec.offers_max = REC_OFFERS_MAX - n->round_offers;
  n->rec.wants_max = REC_WANTS_MAX - n->round_wants;
  return am_rec_answer(t, &n->rec, o->m->data, o->m->data_len, &n->err);
}

static void begin(node *n) {
  if (n->session) return;
  am_rec_clear(&n->rec);
  n->partial = false;
  n->round_in = 0;
  rec_op o = {n, NULL};
  double t0 = bench_now();
  int rc = am_store_read(n->s, rec_txn, &o, &n->err);
  n->res->rec_secs += bench_now() - t0;
  if (rc) die("beginning a session", &n->err, rc);
  n->res->sessions++;
  take_round_output(n, true);
  n->session = true;
  n->again = false;
}

static void session_end(node *n) {
  n->session = false;
  if (n->partial) n->again = true;
  else if (!n->nasked && !n->fetch_len) n->again = false;
  if (!n->nasked && !n->fetch_len && n->again && n->initiator) begin(n);
}

static void on_sync(node *n, const am_msg *m) {
  if (m->flags & AM_SYNC_START) {
    am_rec_clear(&n->rec);
    n->session = true;
    n->partial = false;
  } else if (!n->session) {
    fprintf(stderr, "bench_sync: %s: sync outside a session\n", n->name);
    exit(1);
  }
  if (m->flags & AM_SYNC_PARTIAL) n->partial = true;
  n->round_in += m->data_len;
  rec_op o = {n, m};
  double t0 = bench_now();
  int rc = am_store_read(n->s, rec_txn, &o, &n->err);
  n->res->rec_secs += bench_now() - t0;
  if (rc) die("answering a round", &n->err, rc);
  if (m->flags & AM_SYNC_MORE) {
    take_round_output(n, false);
    return;
  }
  size_t in = n->round_in;
  n->round_in = 0;
  if (in == 0) {
    take_round_output(n, false);
    session_end(n);
    return;
  }
  bool ours_empty = am_rec_empty(&n->rec);
  take_round_output(n, true);
  if (ours_empty) session_end(n);
}

typedef struct offer_op {
  node *n;
  const am_msg *m;
} offer_op;

static int offer_txn(am_txn *t, void *arg) {
  offer_op *o = arg;
  for (size_t i = 0; i < o->m->nids; i++) {
    const uint8_t *sid = o->m->data + i * AM_SID_BYTES;
    uint8_t id[32];
    if (am_sync_find(t, sid, id) != 0) fetch_push(o->n, sid);
  }
  return 0;
}

static void on_offer(node *n, const am_msg *m) {
  offer_op o = {n, m};
  int rc = am_store_read(n->s, offer_txn, &o, &n->err);
  if (rc) die("reading offers", &n->err, rc);
  send_wants(n);
}

/* The announcements asked for, then one sent (pacing aside, serve_txn). */
static int serve_txn(am_txn *t, void *arg) {
  offer_op *o = arg;
  uint64_t missing = 0;
  for (size_t i = 0; i < o->m->nids; i++) {
    uint8_t id[32];
    const uint8_t *env;
    size_t len;
    if (am_sync_find(t, o->m->data + i * AM_SID_BYTES, id) == 0 &&
        am_ann_get(t, id, &env, &len) == 0) {
      am_msg a = {.type = AM_MSG_ANNOUNCE, .envelope = env, .envelope_len = len};
      emit(o->n, &a);
    } else {
      missing++;
    }
  }
  am_msg s = {.type = AM_MSG_SENT, .missing = missing};
  emit(o->n, &s);
  o->n->res->missing += missing;
  return 0;
}

static void on_want(node *n, const am_msg *m) {
  offer_op o = {n, m};
  int rc = am_store_read(n->s, serve_txn, &o, &n->err);
  if (rc) die("serving wants", &n->err, rc);
}

static void on_sent(node *n, const am_msg *m) {
  if (!n->nasked) {
    fprintf(stderr, "bench_sync: %s: sent without a want\n", n->name);
    exit(1);
  }
  want_batch b = n->asked[0];
  memmove(n->asked, n->asked + 1, (size_t)(n->nasked - 1) * sizeof *n->asked);
  n->nasked--;
  for (uint32_t i = 0; i < b.n; i++) sid_remove(&n->fetching, b.sids + (size_t)i * AM_SID_BYTES);
  free(b.sids);
  if (m->missing) n->again = true;
  send_wants(n);
  if (!n->nasked && !n->fetch_len && n->again && !n->session && n->initiator) begin(n);
}

/* Announcements received are stored a batch at a time (am_repl_flush). */
typedef struct flush_op {
  node *n;
  int64_t now;
} flush_op;

static int flush_txn(am_txn *t, void *arg) {
  flush_op *o = arg;
  node *n = o->n;
  for (size_t i = 0; i < n->ninbox; i++) {
    am_msg m;
    int rc = am_msg_decode((const uint8_t *)n->inbox[i]->enc.data, n->inbox[i]->enc.len, &m, &n->err);
    if (rc) return rc;
    am_ingest r;
    if ((rc = am_ann_ingest(t, m.envelope, m.envelope_len, o->now, &r, &n->err))) return rc;
    if (r.reason != AM_REJ_NONE) {
      fprintf(stderr, "bench_sync: %s refused an announcement: %s\n", n->name, n->err.msg);
      return AM_EINTERNAL;
    }
  }
  return 0;
}

static void flush(node *n) {
  if (!n->ninbox) return;
  flush_op o = {n, (int64_t)time(NULL)};
  int rc = am_store_write(n->s, flush_txn, &o, &n->err);
  if (rc) die("storing announcements", &n->err, rc);
  for (size_t i = 0; i < n->ninbox; i++) {
    am_buf_free(&n->inbox[i]->enc);
    free(n->inbox[i]);
  }
  n->ninbox = 0;
}

/* Handles what arrived at this step, in order. */
static void deliver(node *n, qmsg *q, int step) {
  while (q) {
    qmsg *next = q->next;
    q->next = NULL;
    am_msg m;
    int rc = am_msg_decode((const uint8_t *)q->enc.data, q->enc.len, &m, &n->err);
    if (rc) die("decoding a message", &n->err, rc);
    n->res->last_step = step;
    if (m.type == AM_MSG_ANNOUNCE) {
      if (n->ninbox == sizeof n->inbox / sizeof *n->inbox) flush(n);
      n->inbox[n->ninbox++] = q;
      q = next;
      continue;
    }
    flush(n);
    switch (m.type) {
    case AM_MSG_SYNC: n->res->last_sync_step = step; on_sync(n, &m); break;
    case AM_MSG_OFFER: on_offer(n, &m); break;
    case AM_MSG_WANT: on_want(n, &m); break;
    case AM_MSG_SENT: on_sent(n, &m); break;
    default: fprintf(stderr, "bench_sync: unexpected message %d\n", (int)m.type); exit(1);
    }
    am_buf_free(&q->enc);
    free(q);
    q = next;
  }
  flush(n);
}

static void node_init(node *n, const char *name, am_store *s, bool initiator, result *r) {
  memset(n, 0, sizeof *n);
  n->name = name;
  n->s = s;
  n->initiator = initiator;
  n->res = r;
  am_rec_init(&n->rec, REC_ROUND_MAX, AM_SYNC_BYTES_MAX, REC_OFFERS_MAX, REC_WANTS_MAX);
}

static void node_free(node *n) {
  am_rec_free(&n->rec);
  free(n->fetch);
  sid_free(&n->fetching);
  for (int i = 0; i < n->nasked; i++) free(n->asked[i].sids);
}

/* Runs A and B until nothing is in flight. */
static void reconcile(am_store *sa, am_store *sb, result *r) {
  node a, b;
  node_init(&a, "A", sa, true, r);
  node_init(&b, "B", sb, false, r);
  double t0 = bench_now();
  begin(&a);
  int step = 0;
  while (a.out.head || b.out.head) {
    if (++step > 100000) {
      fprintf(stderr, "bench_sync: no end in sight\n");
      exit(1);
    }
    qmsg *to_b = a.out.head, *to_a = b.out.head;
    a.out = b.out = (queue){0};
    deliver(&a, to_a, step);
    deliver(&b, to_b, step);
  }
  r->secs = bench_now() - t0;
  if (a.session || b.session || a.nasked || b.nasked || a.fetch_len || b.fetch_len) {
    fprintf(stderr, "bench_sync: the exchange stopped half-way\n");
    exit(1);
  }
  node_free(&a);
  node_free(&b);
}

/* ---- checking ---- */

typedef struct root_op {
  am_setsum s;
  am_error err;
} root_op;

static int root_txn(am_txn *t, void *arg) {
  root_op *o = arg;
  am_prefix root = {0};
  return am_sync_range(t, &root, &o->s, &o->err);
}

static am_setsum root_of(am_store *s) {
  root_op o = {0};
  int rc = am_store_read(s, root_txn, &o, &o.err);
  if (rc) die("reading the root", &o.err, rc);
  return o.s;
}

/* ---- one size ---- */

static void thousands(char *out, size_t cap, uint64_t v) {
  char raw[32];
  int n = snprintf(raw, sizeof raw, "%llu", (unsigned long long)v), o = 0;
  for (int i = 0; i < n && o + 2 < (int)cap; i++) {
    if (i && (n - i) % 3 == 0) out[o++] = ',';
    out[o++] = raw[i];
  }
  out[o] = '\0';
}

typedef struct row {
  size_t n, k;
  result r;
  uint64_t recon, body;
} row;

#define KS_MAX 8

static bool run_size(const char *tmp, size_t n, size_t vlen, const size_t *ks, size_t nks,
                     origins *or, row *rows, size_t *nrows) {
  char da[400], db[400];
  snprintf(da, sizeof da, "%s/a-%zu", tmp, n);
  snprintf(db, sizeof db, "%s/b-%zu", tmp, n);
  size_t map = (size_t)n * (vlen + 200) * 2 + (512u << 20);
  am_store *a, *b;
  double t0 = bench_now();
  build(da, db, n, vlen, map, or, &a, &b);
  printf("built %zu ids (values of %zu bytes) and copied them in %.1f s\n", n, vlen,
         bench_now() - t0);
  fflush(stdout);
  bool ok = true;
  for (size_t i = 0; i < nks; i++) {
    size_t k = ks[i], ka = k == 1 ? 1 : k / 2, kb = k - ka;
    uint64_t now = (uint64_t)time(NULL);
    am_buf env = {0};
    size_t *lens = malloc(k * sizeof *lens);
    seal_some(or, k, now, &env, lens);
    ingest(a, (const uint8_t *)env.data, lens, ka, (int64_t)now);
    size_t off_b = 0;
    for (size_t j = 0; j < ka; j++) off_b += lens[j];
    ingest(b, (const uint8_t *)env.data + off_b, lens + ka, kb, (int64_t)now);
    row *w = &rows[(*nrows)++];
    memset(w, 0, sizeof *w);
    w->n = n, w->k = k;
    w->r.diff_bytes = env.len;
    am_buf_free(&env);
    free(lens);
    am_setsum ra = root_of(a), rb = root_of(b);
    reconcile(a, b, &w->r);
    am_setsum ea = root_of(a), eb = root_of(b);
    bool same = ea.count == eb.count && memcmp(ea.sum, eb.sum, 32) == 0 &&
                ea.count == ra.count + kb && eb.count == rb.count + ka;
    const result *r = &w->r;
    w->recon = r->bytes[AM_MSG_SYNC] + r->bytes[AM_MSG_OFFER] + r->bytes[AM_MSG_WANT] +
               r->bytes[AM_MSG_SENT];
    w->body = r->bytes[AM_MSG_ANNOUNCE];
    printf("  %zu + %zu differing (envelopes of %.0f B on average) in A %zu / B %zu ids: %.2f s, "
           "%s\n", ka, kb, (double)r->diff_bytes / (double)k, (size_t)ra.count, (size_t)rb.count,
           r->secs, same ? "both hold the union" : "STORES DIFFER");
    fflush(stdout);
    if (!same) ok = false;
  }
  am_store_close(a);
  am_store_close(b);
  bench_rm_rf(da);
  bench_rm_rf(db);
  return ok;
}

static void print_tables(const row *rows, size_t nrows) {
  printf("\n%9s %6s | %6s %4s %5s | %10s %6s %11s %11s %11s | %7s %7s | %6s %6s\n", "ids",
         "diff", "rounds", "RTT", "+half", "recon B", "/diff", "differing B", "announce B",
         "total B", "recon/d", "total/d", "time", "rounds");
  for (size_t i = 0; i < nrows; i++) {
    const row *w = &rows[i];
    const result *r = &w->r;
    char c1[32], c2[32], c3[32], c4[32];
    thousands(c1, sizeof c1, w->recon);
    thousands(c2, sizeof c2, r->diff_bytes);
    thousands(c3, sizeof c3, w->body);
    thousands(c4, sizeof c4, w->recon + w->body);
    size_t rtt = (r->rounds + 1) / 2;
    printf("%9zu %6zu | %6zu %4zu %+5d | %10s %6.0f %11s %11s %11s | %6.2fx %6.2fx | %5.2fs %5.2fs\n",
           w->n, w->k, r->rounds, rtt, r->last_step - r->last_sync_step, c1,
           (double)w->recon / (double)w->k, c2, c3, c4, (double)w->recon / (double)r->diff_bytes,
           (double)(w->recon + w->body) / (double)r->diff_bytes, r->secs, r->rec_secs);
    if (r->sessions > 1)
      printf("%16s   (%zu sessions, unsettled but the last: %d half-trips in all)\n", "",
             r->sessions, r->last_step);
  }
  printf("rounds: sync rounds of the session(s); RTT = rounds / 2 rounded up; +half: "
         "further half-trips until the last announcement arrived\n");
  printf("recon B: sync + offer + want + sent on the wire (framing included), /diff per "
         "differing announcement; differing B: the envelopes that differ, the baseline\n");
  printf("recon/d, total/d: recon B and total B over differing B; time: the whole exchange "
         "(ingest with signature checks included), rounds: answering the sync rounds alone\n");

  printf("\nsync bytes by entry (count x kind@depth = bytes), offers/wants in ids:\n");
  for (size_t i = 0; i < nrows; i++) {
    const result *r = &rows[i].r;
    printf("%9zu %6zu |", rows[i].n, rows[i].k);
    for (int d = 0; d <= AM_SYNC_MAX_DEPTH; d++)
      for (int mode = 0; mode < 2; mode++)
        if (r->entries[mode][d])
          printf(" %llu x %s@%d = %llu;", (unsigned long long)r->entries[mode][d],
                 mode == AM_RANGE_FPS ? "FPS" : "IDS", d, (unsigned long long)r->entry_bytes[mode][d]);
    printf(" sync msgs %llu (%llu B), offered %zu, wanted %zu (%llu want msgs)\n",
           (unsigned long long)r->msgs[AM_MSG_SYNC], (unsigned long long)r->bytes[AM_MSG_SYNC],
           r->offered, r->wanted, (unsigned long long)r->msgs[AM_MSG_WANT]);
  }

  printf("\ntargets:\n");
  for (size_t i = 0; i < nrows; i++) {
    const row *w = &rows[i];
    const result *r = &w->r;
    size_t rtt = (r->rounds + 1) / 2;
    if (w->k == 1 && w->n >= 1000000) {
      printf("  1 in %zu: %zu round trips (target <= 3, negentropy %d: %.2fx) %s; "
             "reconciliation %llu B (target <= 4096, negentropy ~%d: %.2fx) %s\n",
             w->n, rtt, NEGENTROPY_TRIPS, (double)rtt / NEGENTROPY_TRIPS,
             rtt <= 3 ? "met" : "NOT MET", (unsigned long long)w->recon, NEGENTROPY_BYTES,
             (double)w->recon / NEGENTROPY_BYTES, w->recon <= 4096 ? "met" : "NOT MET");
    }
    if (w->k == 10000) {
      double ratio = (double)(w->recon + w->body) / (double)r->diff_bytes;
      printf("  10,000 in %zu: total %.2f MB = %.2fx the differing %.2f MB (target <= 2.00x) %s\n",
             w->n, (double)(w->recon + w->body) / 1e6, ratio, (double)r->diff_bytes / 1e6,
             ratio <= 2.0 ? "met" : "NOT MET");
    }
  }
}

int main(int argc, char **argv) {
  size_t one = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  size_t vlen = argc > 2 ? strtoul(argv[2], NULL, 10) : 600;
  size_t ks[KS_MAX] = {1, 100, 10000}, nks = 3;
  if (argc > 3) {
    nks = 0;
    for (char *p = argv[3], *end; *p && nks < KS_MAX; p = *end ? end + 1 : end) {
      ks[nks++] = strtoul(p, &end, 10);
      if (end == p || ks[nks - 1] == 0 || (*end && *end != ',')) nks = KS_MAX + 1;
      if (nks > KS_MAX) break;
    }
  }
  if ((argc > 1 && one < 1) || vlen < 1 || vlen > 4096 || nks == 0 || nks > KS_MAX) {
    fprintf(stderr, "usage: bench_sync [N] [value-bytes 1..4096] [k,k,...]\n");
    return 2;
  }
  char *tmp = mkdtemp(tmpdir);
  if (!tmp) {
    perror("mkdtemp");
    return 1;
  }
  tmpdir_made = true;
  atexit(cleanup);
  bench_loadavg("before");
  double t0 = bench_now();
  origins *or = calloc(1, sizeof *or);
  for (int i = 0; i < ORIGINS; i++)
    if (am_identity_generate(&or->id[i], NULL)) return 1;
  size_t sizes[2] = {100000, 1000000}, nsizes = 2;
  if (one) sizes[0] = one, nsizes = 1;
  row rows[2 * KS_MAX];
  size_t nrows = 0;
  bool ok = true;
  for (size_t i = 0; i < nsizes; i++) ok &= run_size(tmp, sizes[i], vlen, ks, nks, or, rows, &nrows);
  print_tables(rows, nrows);
  printf("\ndiffering envelopes: %llu events of %.0f B, %llu profiles of %.0f B on average\n",
         (unsigned long long)or->sealed[AM_K_EVENT],
         (double)or->sealed_bytes[AM_K_EVENT] / (double)or->sealed[AM_K_EVENT],
         (unsigned long long)or->sealed[AM_K_PROFILE],
         (double)or->sealed_bytes[AM_K_PROFILE] / (double)or->sealed[AM_K_PROFILE]);
  printf("\nwhole run: %.1f s\n", bench_now() - t0);
  bench_loadavg("after");
  for (int i = 0; i < ORIGINS; i++) am_identity_wipe(&or->id[i]);
  free(or);
  if (!ok) fprintf(stderr, "bench_sync: the stores did not end equal\n");
  return ok ? 0 : 1;
}
