/* Replication with one peer (docs/PROTOCOL.md section 15): offers of new
 * announcements and the wants that answer them, reconciliation sessions
 * on connection and every AM_T_SYNC, and the announcements that come in,
 * taken into the store a read at a time.
 *
 * Output is paced: sync rounds, offers made during reconciliation and the
 * announcements a peer asked for wait in the connection until its write
 * queue is below AM_PUMP_LOW, so a large catch-up never trips the
 * too-slow limit nor holds more than about a megabyte per peer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/log.h"
#include "store/announcements.h"
#include "store/reconcile.h"
#include "store/sync.h"

#define AM_PUMP_LOW (512u << 10)
#define AM_FETCH_MAX (1u << 17)  /* short ids queued to want, per peer */
#define AM_REC_ROUND_MAX (8u << 20) /* bytes of ranges in one round we send */
#define AM_REC_OFFERS_MAX (1u << 18)
#define AM_REC_WANTS_MAX (1u << 18)
#define AM_INBOX_BATCH 1000        /* announcements stored in one transaction, at most */
#define AM_INBOX_BYTES (4u << 20)  /* ... and their bytes */
#define AM_OUTBOX_MAX (16u << 20) /* paced output beyond which new offers are dropped */

typedef struct outmsg {
  uint64_t type, flags;
  am_buf data;
  struct outmsg *next;
} outmsg;

typedef struct want_batch {
  uint8_t *sids;
  uint32_t n, pos, missing;
} want_batch;

struct am_repl {
  am_rec rec;               /* answers to the round being received */
  bool session;             /* a reconciliation session is under way */
  bool partial;             /* ... and will end unsettled */
  bool again;               /* start another one once the fetch is done */
  int quick;                /* sessions started at once in a row */
  size_t round_in;          /* bytes of ranges received in this round */
  uint64_t started;         /* loop ms */
  uint64_t active;          /* loop ms: the last sync sent or received */
  bool dropped;             /* we gave a session up: its late rounds are ignored */
  uint64_t want_progress;   /* loop ms: the last announce or sent received, or the
                               oldest unanswered want sent after it */
  uint64_t served;          /* loop ms: the last announcement we served */
  uint64_t next_sync;       /* loop ms: the next periodic session */
  outmsg *out, *out_tail;   /* paced output */
  size_t out_bytes;
  want_batch serve[AM_WANTS_OUT]; /* what the peer asked us for, in order */
  int nserve;
  uint8_t *fetch;           /* short ids to ask for (FIFO) */
  size_t fetch_head, fetch_len, fetch_cap;
  want_batch asked[AM_WANTS_OUT]; /* wants sent, not answered yet */
  int nasked;
  size_t round_offers, round_wants; /* taken from this round so far */
  size_t sync_unsent;       /* our sync messages still in `out` */
  am_error rec_err;
  am_buf push;              /* new announcements to offer */
  uint8_t known[256][AM_SID_BYTES]; /* recently seen on this link */
};

static void begin_again(am_conn *c);

/* The peer broke section 15: logged, then goodbye protocol-error. */
#define protocol_error(c, ...)                                                        \
  do {                                                                                \
    char why_[AM_MSG_TEXT_MAX + 1];                                                   \
    snprintf(why_, sizeof why_, __VA_ARGS__);                                         \
    am_warn("%s: protocol error from %s: %s", (c)->remote_text,                       \
            (c)->peer ? (c)->peer->key_text : "?", why_);                             \
    am_conn_goodbye((c), AM_BYE_PROTOCOL, "%s", why_);                                \
  } while (0)

/* ---- helpers ---- */

static bool known(const am_repl *r, const uint8_t *sid) {
  return memcmp(r->known[sid[0]], sid, AM_SID_BYTES) == 0;
}
static void mark_known(am_repl *r, const uint8_t *sid) { memcpy(r->known[sid[0]], sid, AM_SID_BYTES); }

static bool can_replicate(const am_conn *c) {
  return c->repl && c->state == AM_CS_READY;
}

static int queue_msg(am_conn *c, uint64_t type, uint64_t flags, const void *p, size_t n) {
  outmsg *m = calloc(1, sizeof *m);
  if (!m) return AM_ENOMEM;
  m->type = type;
  m->flags = flags;
  if (n && am_buf_append(&m->data, p, n)) {
    free(m);
    return AM_ENOMEM;
  }
  am_repl *r = c->repl;
  if (r->out_tail) r->out_tail->next = m;
  else r->out = m;
  r->out_tail = m;
  r->out_bytes += n;
  return 0;
}

/* ---- life ---- */

int am_repl_start(am_conn *c) {
  am_repl *r = calloc(1, sizeof *r);
  if (!r) return AM_ENOMEM;
  am_rec_init(&r->rec, AM_REC_ROUND_MAX, AM_SYNC_BYTES_MAX, AM_REC_OFFERS_MAX, AM_REC_WANTS_MAX);
  c->repl = r;
  r->next_sync = am_now_ms(c->d);
  if (c->peer) c->peer->sync_state = AM_SS_BEHIND;
  /* The side that dialled runs the sessions (15.4). */
  if (c->initiator) am_repl_begin(c);
  return 0;
}

static void release_pending(am_daemon *d, const uint8_t *sids, size_t n) {
  for (size_t i = 0; i < n; i++) am_idset_remove(&d->fetching, sids + i * AM_SID_BYTES);
}

/* The connection leaves the session (goodbye, loss, duplicate): the ids
 * it was fetching can be fetched from other peers at once. */
void am_repl_detach(am_conn *c) {
  am_repl *r = c->repl;
  if (!r) return;
  for (int i = 0; i < r->nasked; i++) {
    release_pending(c->d, r->asked[i].sids, r->asked[i].n);
    free(r->asked[i].sids);
  }
  r->nasked = 0;
  if (r->fetch_len) release_pending(c->d, r->fetch + r->fetch_head * AM_SID_BYTES, r->fetch_len);
  r->fetch_len = r->fetch_head = 0;
}

void am_repl_free(am_conn *c) {
  am_repl *r = c->repl;
  if (!r) return;
  am_daemon *d = c->d;
  am_rec_free(&r->rec);
  for (outmsg *m = r->out, *n; m; m = n) {
    n = m->next;
    am_buf_free(&m->data);
    free(m);
  }
  for (int i = 0; i < r->nserve; i++) free(r->serve[i].sids);
  for (int i = 0; i < r->nasked; i++) {
    release_pending(d, r->asked[i].sids, r->asked[i].n);
    free(r->asked[i].sids);
  }
  if (r->fetch_len) release_pending(d, r->fetch + r->fetch_head * AM_SID_BYTES, r->fetch_len);
  free(r->fetch);
  am_buf_free(&r->push);
  free(r);
  c->repl = NULL;
}

/* ---- state for status ---- */

const char *am_sync_state_name(int s) {
  switch (s) {
  case AM_SS_IN_SYNC: return "in sync";
  case AM_SS_SYNCING: return "syncing";
  case AM_SS_BEHIND: return "behind";
  }
  return "-";
}

static void update_state(am_conn *c) {
  am_repl *r = c->repl;
  if (!c->peer || !r) return;
  if (r->session || r->nasked || r->fetch_len || r->nserve || r->out) c->peer->sync_state = AM_SS_SYNCING;
  else c->peer->sync_state = r->again ? AM_SS_BEHIND : AM_SS_IN_SYNC;
}

/* ---- fetching what we lack ---- */

static void fetch_push(am_conn *c, const uint8_t *sid) {
  am_repl *r = c->repl;
  am_daemon *d = c->d;
  if (am_idset_has(&d->fetching, sid) || am_idset_has(&d->refused, sid) ||
      am_idset_has(&d->refused_old, sid))
    return;
  if (r->fetch_len >= AM_FETCH_MAX) {
    r->again = true; /* a later session asks again */
    return;
  }
  if (r->fetch_head + r->fetch_len == r->fetch_cap) {
    if (r->fetch_head > 0) {
      memmove(r->fetch, r->fetch + r->fetch_head * AM_SID_BYTES, r->fetch_len * AM_SID_BYTES);
      r->fetch_head = 0;
    }
    if (r->fetch_len == r->fetch_cap) {
      size_t cap = r->fetch_cap ? 2 * r->fetch_cap : 256;
      uint8_t *f = realloc(r->fetch, cap * AM_SID_BYTES);
      if (!f) return;
      r->fetch = f;
      r->fetch_cap = cap;
    }
  }
  if (!am_idset_add(&d->fetching, sid)) {
    r->again = true;
    return;
  }
  memcpy(r->fetch + (r->fetch_head + r->fetch_len) * AM_SID_BYTES, sid, AM_SID_BYTES);
  r->fetch_len++;
}

static void send_wants(am_conn *c) {
  am_repl *r = c->repl;
  while (r->fetch_len && r->nasked < AM_WANTS_OUT && c->state == AM_CS_READY) {
    uint32_t n = r->fetch_len < AM_WANT_MAX ? (uint32_t)r->fetch_len : AM_WANT_MAX;
    want_batch *b = &r->asked[r->nasked];
    b->sids = malloc((size_t)n * AM_SID_BYTES);
    if (!b->sids) return;
    memcpy(b->sids, r->fetch + r->fetch_head * AM_SID_BYTES, (size_t)n * AM_SID_BYTES);
    b->n = n;
    r->nasked++;
    r->fetch_head += n;
    r->fetch_len -= n;
    if (r->fetch_len == 0) r->fetch_head = 0;
    if (r->nasked == 1) r->want_progress = am_now_ms(c->d);
    am_msg w = {.type = AM_MSG_WANT, .data = b->sids, .nids = n}; /* n <= AM_WANT_MAX */
    am_conn_send(c, &w);
  }
}

typedef struct offer_arg {
  am_conn *c;
  const uint8_t *sids;
  size_t n;
} offer_arg;

static int offer_txn(am_txn *t, void *arg) {
  offer_arg *a = arg;
  for (size_t i = 0; i < a->n; i++) {
    const uint8_t *sid = a->sids + i * AM_SID_BYTES;
    mark_known(a->c->repl, sid);
    uint8_t id[32];
    if (am_sync_find(t, sid, id) == 0) continue;
    fetch_push(a->c, sid);
  }
  return 0;
}

static void on_offer(am_conn *c, const am_msg *m) {
  /* Announcements read before this message are stored first, so they are
   * not asked for again. */
  if (c->d->inbox_n) am_repl_flush_inbox(c->d);
  offer_arg a = {c, m->data, m->nids};
  am_error err = {0};
  int rc = am_store_read(c->d->node.store, offer_txn, &a, &err);
  if (rc) am_warn("%s: cannot read the store: %s", c->remote_text, am_error_text(&err, rc));
  send_wants(c);
  update_state(c);
}

static void on_sent(am_conn *c, const am_msg *m) {
  am_repl *r = c->repl;
  if (c->d->inbox_n) am_repl_flush_inbox(c->d);
  r->want_progress = am_now_ms(c->d);
  if (r->nasked == 0) {
    protocol_error(c, "sent without a want");
    return;
  }
  want_batch b = r->asked[0];
  memmove(r->asked, r->asked + 1, (size_t)(r->nasked - 1) * sizeof *r->asked);
  r->nasked--;
  release_pending(c->d, b.sids, b.n);
  free(b.sids);
  if (m->missing) r->again = true;
  send_wants(c);
  update_state(c);
}

/* ---- serving what the peer asked for ---- */

static void on_want(am_conn *c, const am_msg *m) {
  am_repl *r = c->repl;
  if (r->nserve >= AM_WANTS_OUT) {
    protocol_error(c, "more than %d wants unanswered", AM_WANTS_OUT);
    return;
  }
  want_batch *b = &r->serve[r->nserve];
  b->sids = malloc(m->nids * AM_SID_BYTES);
  if (!b->sids) {
    /* Out of memory: never left hanging. Answered as all missing when it
     * is the only one (a sent answers the oldest want), else the link. */
    am_msg s = {.type = AM_MSG_SENT, .missing = m->nids};
    if (r->nserve == 0) am_conn_send(c, &s);
    else am_conn_goodbye(c, AM_BYE_OVERLOADED, "out of memory");
    return;
  }
  memcpy(b->sids, m->data, m->nids * AM_SID_BYTES);
  b->n = (uint32_t)m->nids;
  b->pos = b->missing = 0;
  r->nserve++;
  for (size_t i = 0; i < m->nids; i++) mark_known(r, m->data + i * AM_SID_BYTES);
  am_repl_pump(c);
}

static int serve_txn(am_txn *t, void *arg) {
  am_conn *c = arg;
  am_repl *r = c->repl;
  while (r->nserve && c->queued < AM_PUMP_LOW && c->state == AM_CS_READY) {
    want_batch *b = &r->serve[0];
    while (b->pos < b->n && c->queued < AM_PUMP_LOW && c->state == AM_CS_READY) {
      uint8_t id[32];
      const uint8_t *env;
      size_t len;
      if (am_sync_find(t, b->sids + (size_t)b->pos * AM_SID_BYTES, id) == 0 &&
          am_ann_get(t, id, &env, &len) == 0) {
        am_msg m = {.type = AM_MSG_ANNOUNCE, .envelope = env, .envelope_len = len};
        if (am_conn_send(c, &m)) return 0;
        c->peer->ann_out++, c->peer->d_ann_out++, c->d->count.ann_out++;
        r->served = am_now_ms(c->d);
      } else {
        b->missing++;
      }
      b->pos++;
    }
    if (b->pos < b->n) break;
    am_msg s = {.type = AM_MSG_SENT, .missing = b->missing};
    free(b->sids);
    memmove(r->serve, r->serve + 1, (size_t)(r->nserve - 1) * sizeof *r->serve);
    r->nserve--;
    if (am_conn_send(c, &s)) return 0;
  }
  return 0;
}

/* Sends paced output while the write queue has room. */
void am_repl_pump(am_conn *c) {
  am_repl *r = c->repl;
  if (!r) return;
  while (r->out && c->queued < AM_PUMP_LOW && c->state == AM_CS_READY) {
    outmsg *o = r->out;
    r->out = o->next;
    if (!r->out) r->out_tail = NULL;
    r->out_bytes -= o->data.len;
    am_msg m = {.type = o->type, .flags = o->flags, .data = (const uint8_t *)o->data.data};
    if (o->type == AM_MSG_SYNC) m.data_len = o->data.len, r->sync_unsent--;
    else m.nids = o->data.len / AM_SID_BYTES;
    int rc = am_conn_send(c, &m);
    am_buf_free(&o->data);
    free(o);
    if (rc || !c->repl) return;
  }
  if (r->nserve && c->queued < AM_PUMP_LOW && c->state == AM_CS_READY) {
    am_error err = {0};
    int rc = am_store_read(c->d->node.store, serve_txn, c, &err);
    if (rc) am_warn("%s: cannot read the store: %s", c->remote_text, am_error_text(&err, rc));
  }
  if (c->repl) update_state(c);
}

/* ---- reconciliation ---- */

/* Queues what a round produced: offers (the peer will want them), wants
 * (fetched), and, at the end of a round, our round. */
static void take_round_output(am_conn *c, bool round_end) {
  am_repl *r = c->repl;
  am_rec *rec = &r->rec;
  size_t no = rec->offers.len / AM_SID_BYTES;
  for (size_t i = 0; i < no; i += AM_OFFER_MAX) {
    size_t k = no - i < AM_OFFER_MAX ? no - i : AM_OFFER_MAX;
    for (size_t j = 0; j < k; j++) mark_known(r, (uint8_t *)rec->offers.data + (i + j) * AM_SID_BYTES);
    queue_msg(c, AM_MSG_OFFER, 0, rec->offers.data + i * AM_SID_BYTES, k * AM_SID_BYTES);
  }
  size_t nw = rec->wants.len / AM_SID_BYTES;
  for (size_t i = 0; i < nw; i++) fetch_push(c, (uint8_t *)rec->wants.data + i * AM_SID_BYTES);
  rec->offers.len = rec->wants.len = 0;
  if (nw) send_wants(c);
  r->round_offers += no;
  r->round_wants += nw;
  if (!round_end) return;
  r->round_offers = r->round_wants = 0;
  if (rec->partial) r->partial = true;
  uint64_t last_flags = r->partial ? AM_SYNC_PARTIAL : 0;
  if (rec->nchunks == 0) {
    if (!queue_msg(c, AM_MSG_SYNC, last_flags, NULL, 0)) r->sync_unsent++;
  } else {
    for (size_t i = 0; i < rec->nchunks; i++) {
      bool last = i + 1 == rec->nchunks;
      uint64_t f = last ? last_flags : AM_SYNC_MORE;
      if (i == 0 && !r->session) f |= AM_SYNC_START;
      if (!queue_msg(c, AM_MSG_SYNC, f, rec->chunks[i].data, rec->chunks[i].len)) r->sync_unsent++;
    }
  }
  am_rec_clear(rec);
}

typedef struct rec_arg {
  am_conn *c;
  const am_msg *m; /* NULL: begin */
} rec_arg;

static int rec_txn(am_txn *t, void *arg) {
  rec_arg *a = arg;
  am_error *err = &a->c->repl->rec_err;
  am_repl *r = a->c->repl;
  if (!a->m) return am_rec_begin(t, &r->rec, err);
  /* The caps hold for the whole round, whose messages are answered one
   * by one. */
  r->rec.offers_max = AM_REC_OFFERS_MAX - r->round_offers;
  r->rec.wants_max = AM_REC_WANTS_MAX - r->round_wants;
  return am_rec_answer(t, &r->rec, a->m->data, a->m->data_len, err);
}

/* Another session at once (the last one was unsettled, or wants came back
 * short); a few in a row at most, then the periodic one takes over, so
 * a difference that cannot be settled does not keep the link busy. */
#define AM_QUICK_MAX 8
static void begin_again(am_conn *c) {
  am_repl *r = c->repl;
  if (r->quick >= AM_QUICK_MAX) return;
  r->quick++;
  am_repl_begin(c);
}

static void session_end(am_conn *c) {
  am_repl *r = c->repl;
  am_daemon *d = c->d;
  r->session = false;
  if (r->partial) r->again = true;
  else if (!r->nasked && !r->fetch_len) r->again = false, r->quick = 0;
  r->next_sync = am_now_ms(d) + AM_T(d, AM_T_SYNC);
  if (c->peer) c->peer->last_sync = am_wall();
  am_debug("%s: reconciliation with %s ended%s after %llu ms", c->remote_text,
           c->peer ? c->peer->key_text : "?", r->partial ? " (unsettled: another follows)" : "",
           (unsigned long long)(am_now_ms(d) - r->started));
  r->dropped = false;
}

void am_repl_begin(am_conn *c) {
  am_repl *r = c->repl;
  if (!r || r->session || !can_replicate(c)) return;
  am_daemon *d = c->d;
  am_daemon_prune(d);
  am_rec_clear(&r->rec);
  r->partial = false;
  r->round_in = 0;
  r->round_offers = r->round_wants = 0;
  r->started = r->active = am_now_ms(d);
  rec_arg a = {c, NULL};
  am_error err = {0};
  int rc = am_store_read(d->node.store, rec_txn, &a, &err);
  if (rc) {
    am_warn("%s: cannot start reconciliation: %s", c->remote_text,
            am_error_text(&r->rec_err, rc));
    r->next_sync = am_now_ms(d) + AM_T(d, AM_T_SYNC);
    return;
  }
  take_round_output(c, true); /* flags START: r->session is still false */
  r->session = true;
  r->again = false;
  am_repl_pump(c);
}

static void on_sync(am_conn *c, const am_msg *m) {
  am_repl *r = c->repl;
  am_daemon *d = c->d;
  if (m->flags & AM_SYNC_START) {
    if (c->initiator) {
      protocol_error(c, "a session started by the side that was dialled");
      return;
    }
    if (r->session && r->round_in) {
      protocol_error(c, "a session started inside a round");
      return;
    }
    am_rec_clear(&r->rec);
    r->session = true;
    r->partial = false;
    r->round_in = 0;
    r->round_offers = r->round_wants = 0;
    r->dropped = false;
    r->started = am_now_ms(d);
    am_daemon_prune(d); /* expired content leaves our set before we describe it (15.1) */
  } else if (!r->session) {
    if (r->dropped) return; /* the late rounds of a session we gave up */
    protocol_error(c, "sync outside a session");
    return;
  }
  r->active = am_now_ms(d);
  if (d->inbox_n) am_repl_flush_inbox(d);
  /* Rounds alternate: the peer answers ours once it has it all. */
  if (r->sync_unsent) {
    protocol_error(c, "a sync round sent before ours was received");
    return;
  }
  if (m->flags & AM_SYNC_PARTIAL) r->partial = true;
  r->round_in += m->data_len;
  rec_arg a = {c, m};
  int rc = am_store_read(d->node.store, rec_txn, &a, NULL);
  if (rc == AM_EINVAL) {
    protocol_error(c, "%.200s", r->rec_err.msg);
    return;
  }
  if (rc) {
    /* Our store failed: end the session unsettled rather than answer
     * half a round. */
    am_warn("%s: reconciliation stopped: %s", c->remote_text, am_error_text(&r->rec_err, rc));
    am_rec_clear(&r->rec);
    r->rec.partial = true;
  }
  bool round_end = !(m->flags & AM_SYNC_MORE);
  if (!round_end) {
    take_round_output(c, false);
    am_repl_pump(c);
    return;
  }
  size_t in = r->round_in;
  r->round_in = 0;
  if (in == 0) {
    /* An empty round ends the session: nothing to answer. */
    take_round_output(c, false);
    session_end(c);
    am_repl_pump(c);
    return;
  }
  bool ours_empty = am_rec_empty(&r->rec);
  take_round_output(c, true);
  if (ours_empty) session_end(c);
  am_repl_pump(c);
}

/* ---- messages ---- */

bool am_repl_message(am_conn *c, const am_msg *m) {
  if (!c->repl) return false;
  switch (m->type) {
  case AM_MSG_OFFER: on_offer(c, m); return true;
  case AM_MSG_WANT: on_want(c, m); return true;
  case AM_MSG_SENT: on_sent(c, m); return true;
  case AM_MSG_SYNC: on_sync(c, m); return true;
  }
  return false;
}

void am_repl_resync(am_daemon *d) {
  uint64_t now = am_now_ms(d);
  for (am_conn *c = d->conns; c; c = c->next)
    if (c->repl) c->repl->next_sync = now;
}

void am_repl_tick(am_conn *c, uint64_t now) {
  am_repl *r = c->repl;
  if (!r) return;
  /* A peer that keeps the connection alive but stops answering rounds
   * would stop reconciliation for good: after AM_T_SESSION without a round
   * either way the session is given up (its late rounds are ignored; the
   * next one starts afresh, a start resets the other side). */
  if (r->session && now - r->active > AM_T(c->d, AM_T_SESSION)) {
    am_warn("%s: reconciliation with %s silent for %d s: given up", c->remote_text,
            c->peer ? c->peer->key_text : "?", AM_T_SESSION / 1000);
    am_rec_clear(&r->rec);
    r->session = false;
    r->dropped = true;
    r->round_in = 0;
    r->again = true;
    r->next_sync = now + AM_T(c->d, AM_T_SYNC);
    update_state(c);
    return;
  }
  /* Wanted announcements hold their ids in d->fetching, where offers from
   * other peers are ignored: a peer that asks and never answers would keep
   * them from us. No announce or sent for AM_T_WANT: dropped as too slow. */
  if (r->nasked && now - r->want_progress > AM_T(c->d, AM_T_WANT)) {
    am_warn("%s: %s did not answer our want for %d s: dropped as too-slow", c->remote_text,
            c->peer ? c->peer->key_text : "?", AM_T_WANT / 1000);
    am_conn_goodbye(c, AM_BYE_TOO_SLOW, "no answer to a want for %d s", AM_T_WANT / 1000);
    return;
  }
  if (!c->initiator || r->session || r->nasked || r->fetch_len) return;
  if (now >= r->next_sync) {
    r->quick = 0;
    am_repl_begin(c);
    return;
  }
  /* Another session at once after an unsettled one, once both sides are
   * done with its announcements (so ours are not offered twice). */
  if (r->again && !r->nserve && !r->out && now - r->served >= AM_T(c->d, 1000)) begin_again(c);
}

/* ---- incoming announcements, a read at a time ---- */

typedef struct inbox_item {
  uint32_t off, len;
  am_ingest r;
} inbox_item;

int am_repl_take(am_conn *c, const uint8_t *env, size_t len) {
  am_daemon *d = c->d;
  /* One connection's announcements at a time: the verdicts are counted
   * against it and its known marks. */
  if (d->inbox_n && d->inbox_conn != c) am_repl_flush_inbox(d);
  if (d->inbox_n == d->inbox_cap) {
    size_t cap = d->inbox_cap ? 2 * d->inbox_cap : 64;
    void *p = realloc(d->inbox_items, cap * sizeof(inbox_item));
    if (!p) return AM_ENOMEM;
    d->inbox_items = p;
    d->inbox_cap = cap;
  }
  inbox_item *it = (inbox_item *)d->inbox_items + d->inbox_n;
  it->off = (uint32_t)d->inbox.len;
  it->len = (uint32_t)len;
  if (am_buf_append(&d->inbox, (const char *)env, len)) return AM_ENOMEM;
  d->inbox_n++;
  d->inbox_conn = c;
  am_daemon_defer(d); /* stored at the latest in the next loop iteration */
  return 0;
}

/* After a read: a full buffer means more is waiting and libuv reads again
 * at once, so the batch grows into one larger transaction (one disk sync
 * per AM_INBOX_BATCH announcements rather than per 64 KiB read); a short
 * read, or a batch that is big enough, is stored now. */
void am_repl_read_done(am_conn *c, bool full) {
  am_daemon *d = c->d;
  if (!d->inbox_n) return;
  if (!full || d->inbox_n >= AM_INBOX_BATCH || d->inbox.len >= AM_INBOX_BYTES ||
      c->state != AM_CS_READY)
    am_repl_flush_inbox(d);
}

typedef struct flush_arg {
  am_daemon *d;
  int64_t now;
  am_error err;
} flush_arg;

static int flush_txn(am_txn *t, void *arg) {
  flush_arg *a = arg;
  am_daemon *d = a->d;
  inbox_item *items = d->inbox_items;
  for (size_t i = 0; i < d->inbox_n; i++) {
    memset(&items[i].r, 0, sizeof items[i].r);
    int rc = am_ann_ingest(t, (const uint8_t *)d->inbox.data + items[i].off, items[i].len,
                           a->now, &items[i].r, &a->err);
    if (rc) return rc;
  }
  return 0;
}

void am_repl_flush_inbox(am_daemon *d) {
  am_conn *c = d->inbox_conn;
  if (!d->inbox_n || !c) return;
  flush_arg a = {.d = d, .now = (int64_t)am_wall()};
  int rc = am_store_write(d->node.store, flush_txn, &a, &a.err);
  inbox_item *items = d->inbox_items;
  if (rc) {
    am_warn("%s: cannot store %zu announcement(s): %s", c->remote_text, d->inbox_n,
            am_error_text(&a.err, rc));
  } else {
    for (size_t i = 0; i < d->inbox_n; i++) {
      am_ingest *r = &items[i].r;
      if (c->repl) c->repl->want_progress = am_now_ms(d);
      if (r->reason == AM_REJ_NONE) {
        am_idset_remove(&d->fetching, r->id);
        if (c->repl) mark_known(c->repl, r->id);
        if (r->applied) {
          char hex[65];
          am_ann_id_hex(r->id, hex);
          am_debug("stored announcement %.16s (%s) from %s", hex,
                   r->kind < AM_K__COUNT ? am_ann_kinds[r->kind].name : "?",
                   c->peer ? c->peer->key_text : c->remote_text);
          am_repl_offer_all(d, r->id, c);
        }
        continue;
      }
      d->count.ann_rejected++;
      if (c->peer) c->peer->ann_rejected++;
      if (r->reason == AM_REJ_UNKNOWN_ORIGIN) {
        d->count.ann_untrusted++;
        /* Two generations: a full set becomes the old one, so an id is
         * remembered for at least AM_REFUSED_MAX later refusals. */
        if (d->refused.n >= d->refused.max) {
          am_idset t = d->refused_old;
          d->refused_old = d->refused;
          d->refused = t;
          am_idset_clear(&d->refused);
        }
        am_idset_add(&d->refused, r->id);
        am_idset_remove(&d->fetching, r->id);
      } else if (r->reason == AM_REJ_STALE || r->reason == AM_REJ_EXPIRED) {
        am_idset_remove(&d->fetching, r->id);
      } else {
        am_warn("%s: %s sent an announcement that is refused: %s", c->remote_text,
                c->peer ? c->peer->key_text : "?", am_reject_name(r->reason));
      }
    }
  }
  d->inbox.len = 0;
  d->inbox_n = 0;
  d->inbox_conn = NULL;
  if (d->inbox.cap > 2 * AM_INBOX_BYTES) am_buf_free(&d->inbox);
}

/* ---- offering new announcements ---- */

void am_repl_offer_all(am_daemon *d, const uint8_t id[static 32], const am_conn *from) {
  bool any = false;
  for (am_conn *c = d->conns; c; c = c->next) {
    if (c == from || !can_replicate(c) || known(c->repl, id)) continue;
    if (c->repl->push.len / AM_SID_BYTES >= AM_FETCH_MAX) {
      c->repl->again = true; /* the next session finds it */
      continue;
    }
    mark_known(c->repl, id);
    if (am_buf_append(&c->repl->push, (const char *)id, AM_SID_BYTES)) continue;
    any = true;
  }
  if (any) {
    d->push_pending = true;
    am_daemon_defer(d);
  }
}

void am_repl_flush_offers(am_daemon *d) {
  if (!d->push_pending) return;
  d->push_pending = false;
  for (am_conn *c = d->conns; c; c = c->next) {
    am_repl *r = c->repl;
    if (!r || !r->push.len) continue;
    /* Offers wait with the rest of the paced output; a peer that has
     * much waiting already misses these (the next reconciliation finds
     * them) rather than growing our memory. */
    if (can_replicate(c) && r->out_bytes < AM_OUTBOX_MAX) {
      size_t n = r->push.len / AM_SID_BYTES;
      for (size_t i = 0; i < n; i += AM_OFFER_MAX) {
        size_t k = n - i < AM_OFFER_MAX ? n - i : AM_OFFER_MAX;
        queue_msg(c, AM_MSG_OFFER, 0, r->push.data + i * AM_SID_BYTES, k * AM_SID_BYTES);
      }
      am_repl_pump(c);
    } else if (can_replicate(c)) {
      r->again = true;
    }
    if (c->repl) c->repl->push.len = 0;
  }
}
