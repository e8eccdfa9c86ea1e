/* amicaled's life: start (lock, key, store, listener, control socket,
 * signals), the one-second tick (timeouts, dialling with backoff, stats
 * written to the store), the peer list kept in step with the store, and
 * a clean stop (goodbye to every peer, stats flushed, exit 0). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "node/daemon.h"
#include "node/log.h"
#include "node/node.h"
#include "proto/address.h"
#include "proto/text.h"
#include "store/announcements.h"
#include "store/peers.h"

uint64_t am_now_ms(am_daemon *d) { return uv_now(d->loop); }

uint64_t am_wall(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (uint64_t)tv.tv_sec;
}

const char *am_rpeer_state_name(int s) {
  switch (s) {
  case AM_PS_IDLE: return "waiting for it";
  case AM_PS_WAITING: return "retrying";
  case AM_PS_CONNECTING: return "connecting";
  case AM_PS_CONNECTED: return "connected";
  case AM_PS_BLOCKED: return "blocked";
  }
  return "?";
}

/* ---- peers ---- */

am_rpeer *am_rpeer_find(am_daemon *d, const uint8_t key[static 32]) {
  for (am_rpeer *p = d->peers; p; p = p->next)
    if (memcmp(p->key, key, 32) == 0) return p;
  return NULL;
}

am_rpeer *am_rpeer_ensure(am_daemon *d, const uint8_t key[static 32]) {
  am_rpeer *p = am_rpeer_find(d, key);
  if (p) return p;
  if (!(p = calloc(1, sizeof *p))) return NULL;
  memcpy(p->key, key, 32);
  am_pubkey_to_text(key, p->key_text);
  p->state = AM_PS_IDLE;
  p->seen_in_store = true;
  p->next = d->peers;
  d->peers = p;
  return p;
}

void am_rpeer_error(am_rpeer *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->last_error, sizeof p->last_error, fmt, ap);
  va_end(ap);
  p->last_error_at = am_wall();
  p->error_unsaved = true;
  p->dirty = true;
}

/* Exponential backoff with jitter (PROTOCOL.md 14.8). */
void am_rpeer_schedule(am_daemon *d, am_rpeer *p, bool failed) {
  if (p->blocked) {
    p->state = AM_PS_BLOCKED;
    return;
  }
  if (!p->address[0]) {
    p->state = AM_PS_IDLE;
    return;
  }
  uint64_t lo = AM_T(d, AM_BACKOFF_MIN), hi = AM_T(d, AM_BACKOFF_MAX);
  if (!failed || p->backoff == 0) p->backoff = lo;
  else p->backoff = p->backoff * 2 > hi ? hi : p->backoff * 2;
  uint32_t r = randombytes_uniform(1001); /* 0..1000 */
  uint64_t delay = p->backoff / 2 + p->backoff * r / 2000;
  p->next_dial = am_now_ms(d) + delay;
  p->state = AM_PS_WAITING;
}

static void peer_free(am_daemon *d, am_rpeer *p) {
  am_rpeer **pp = &d->peers;
  while (*pp && *pp != p) pp = &(*pp)->next;
  if (*pp) *pp = p->next;
  free(p);
}

typedef struct load_arg {
  am_daemon *d;
  int rc;
} load_arg;

static int load_peer(const am_peer *sp, void *arg) {
  load_arg *la = arg;
  am_daemon *d = la->d;
  am_rpeer *p = am_rpeer_ensure(d, sp->key);
  if (!p) return AM_ENOMEM;
  bool addr_changed = strcmp(p->address, sp->address) != 0;
  snprintf(p->address, sizeof p->address, "%s", sp->address);
  if (sp->name[0]) snprintf(p->name, sizeof p->name, "%s", sp->name);
  bool was_blocked = p->blocked;
  p->blocked = sp->blocked;
  p->seen_in_store = true;
  p->transient = false; /* added meanwhile: a peer now, whatever the invitation does */
  if (p->blocked && !was_blocked) {
    if (p->conn) am_conn_goodbye(p->conn, AM_BYE_BLOCKED, "blocked by this node's operator");
    if (p->dialing) am_conn_close(p->dialing, "blocked");
    p->state = AM_PS_BLOCKED;
  } else if (!p->conn && !p->dialing && (addr_changed || was_blocked != p->blocked)) {
    p->backoff = 0;
    p->next_dial = am_now_ms(d); /* a new or changed peer: try now */
    p->state = p->address[0] ? AM_PS_WAITING : AM_PS_IDLE;
  }
  return 0;
}

static int load_txn(am_txn *t, void *arg) {
  return am_peer_each(t, load_peer, arg, NULL);
}

/* Brings the peer list in step with the store (start, SIGHUP, CLI). */
static int load_peers(am_daemon *d, am_error *err) {
  for (am_rpeer *p = d->peers; p; p = p->next) p->seen_in_store = p->transient;
  load_arg la = {d, 0};
  int rc = am_store_read(d->node.store, load_txn, &la, err);
  if (rc) return rc;
  for (am_rpeer *p = d->peers, *next; p; p = next) {
    next = p->next;
    if (p->seen_in_store) continue;
    am_info("peer %s (%s) removed: disconnecting", p->name[0] ? p->name : "?", p->key_text);
    if (p->conn) am_conn_goodbye(p->conn, AM_BYE_REMOVED, "removed by this node's operator");
    if (p->dialing) am_conn_close(p->dialing, "peer removed");
    if (p->conn || p->dialing) continue; /* cannot happen: both detach */
    peer_free(d, p);
  }
  return 0;
}

void am_daemon_reload_peers(am_daemon *d) {
  am_error err = {0};
  int rc = load_peers(d, &err);
  if (rc) am_error_log("cannot read the peers: %s", am_error_text(&err, rc));
}

typedef struct adopt_arg {
  am_rpeer *p;
} adopt_arg;

static int adopt_txn(am_txn *t, void *arg) {
  am_rpeer *p = ((adopt_arg *)arg)->p;
  am_error err = {0};
  am_peer pr;
  if (am_peer_get(t, p->key, &pr) != 0) {
    memset(&pr, 0, sizeof pr);
    memcpy(pr.key, p->key, 32);
    pr.added = (int64_t)am_wall();
    pr.via = AM_PEER_VIA_ACCEPTED;
  }
  snprintf(pr.address, sizeof pr.address, "%s", p->address);
  /* The peer's own name, made printable: session texts may hold control
   * characters that stored names may not. */
  if (!pr.name[0] && p->has_hello) am_text_printable(p->hello.name, pr.name, sizeof pr.name);
  int rc = am_peer_put(t, &pr, NULL, &err);
  if (rc) return rc;
  am_trust tr = {0};
  if (am_trust_get(t, p->key, &tr) == 0) return 0; /* already trusted: keep its name */
  memcpy(tr.key, p->key, 32);
  if (p->has_hello) am_text_printable(p->hello.name, tr.name, sizeof tr.name);
  tr.added = am_wall();
  bool had;
  return am_trust_add(t, &tr, &had, &err);
}

/* A peer recorded without a name (it redeemed one of our invitations) is
 * named after its hello, in the peer list and the trust list. */
static int name_txn(am_txn *t, void *arg) {
  am_rpeer *p = arg;
  am_error err = {0};
  am_peer pr;
  if (am_peer_get(t, p->key, &pr) != 0 || pr.name[0]) return 0;
  am_text_printable(p->hello.name, pr.name, sizeof pr.name);
  int rc = am_peer_put(t, &pr, NULL, &err);
  if (rc) return rc;
  am_trust tr;
  if (am_trust_get(t, p->key, &tr) != 0 || tr.name[0]) return 0;
  am_text_printable(p->hello.name, tr.name, sizeof tr.name);
  return am_trust_add(t, &tr, NULL, &err);
}

void am_daemon_name_peer(am_daemon *d, am_rpeer *p) {
  am_error err = {0};
  int rc = am_store_write(d->node.store, name_txn, p, &err);
  if (rc) am_warn("cannot record the name of peer %s: %s", p->key_text, am_error_text(&err, rc));
}

int am_daemon_adopt(am_daemon *d, am_rpeer *p, am_error *err) {
  adopt_arg a = {p};
  int rc = am_store_write(d->node.store, adopt_txn, &a, err);
  if (rc) return rc;
  p->transient = false;
  p->seen_in_store = true;
  if (!p->name[0] && p->has_hello) am_text_printable(p->hello.name, p->name, sizeof p->name);
  return 0;
}

void am_daemon_reload(am_daemon *d) {
  am_daemon_check_trust(d);
  am_config conf;
  am_error err = {0};
  int rc = am_config_read(d->node.dir, &conf, &err);
  if (rc) {
    am_error_log("reload: %s (keeping the previous settings)", am_error_text(&err, rc));
  } else {
    char now[AM_ADDR_TEXT_MAX + 1], then[AM_ADDR_TEXT_MAX + 1];
    am_addr_format(&conf.listen, now);
    am_addr_format(&d->node.conf.listen, then);
    if (strcmp(now, then) != 0)
      am_warn("reload: the listen address changed to %s; restart amicaled to use it", now);
    d->node.conf = conf;
    d->max_connections = conf.max_connections;
  }
  if ((rc = load_peers(d, &err)))
    am_error_log("reload: cannot read the peers: %s", am_error_text(&err, rc));
  am_info("configuration and peers reloaded");
}

/* ---- statistics ---- */

static int flush_txn(am_txn *t, void *arg) {
  am_daemon *d = arg;
  am_error err = {0};
  for (am_rpeer *p = d->peers; p; p = p->next) {
    if (!p->dirty) continue;
    am_peer_stats delta = {
        .bytes_in = p->d_bytes_in, .bytes_out = p->d_bytes_out, .ann_in = p->d_ann_in,
        .ann_out = p->d_ann_out, .connects = p->d_connects,
        .last_seen = (int64_t)p->last_seen, .last_connected = (int64_t)p->connected_at};
    /* An error is written once, when it is new. */
    const char *e = p->error_unsaved ? p->last_error : NULL;
    int rc = am_peer_stats_add(t, p->key, &delta, e, (int64_t)p->last_error_at, &err);
    if (rc && rc != AM_ENOTFOUND) return rc;
  }
  return 0;
}

void am_daemon_flush_stats(am_daemon *d) {
  bool any = false;
  for (am_rpeer *p = d->peers; p; p = p->next) any |= p->dirty;
  if (!any) return;
  am_error err = {0};
  int rc = am_store_write(d->node.store, flush_txn, d, &err);
  if (rc) {
    am_warn("cannot record peer statistics: %s", am_error_text(&err, rc));
    return;
  }
  for (am_rpeer *p = d->peers; p; p = p->next) {
    p->d_bytes_in = p->d_bytes_out = p->d_ann_in = p->d_ann_out = p->d_connects = 0;
    p->dirty = false;
    p->error_unsaved = false;
  }
}

/* ---- pushing our new announcements ---- */

typedef struct push_arg {
  am_daemon *d;
  uint64_t last;
  int count;
} push_arg;

/* Our new announcements: offered to peers that replicate, sent whole to
 * the others (transport version 1 without replication, 14.6). */
static int push_one(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  (void)t;
  push_arg *pa = arg;
  am_msg m = {.type = AM_MSG_ANNOUNCE, .envelope = env, .envelope_len = len};
  char hex[65];
  am_ann_id_hex(id, hex);
  am_debug("offering our announcement %.16s", hex);
  am_repl_offer_all(pa->d, id, NULL);
  for (am_conn *c = pa->d->conns; c; c = c->next) {
    if (c->repl || c->state != AM_CS_READY || !c->peer || !c->peer->has_hello ||
        !am_hello_has_cap(&c->peer->hello, "announce"))
      continue;
    if (am_conn_send(c, &m) == 0 && c->peer) {
      c->peer->ann_out++;
      c->peer->d_ann_out++;
      c->peer->dirty = true;
      pa->d->count.ann_out++;
    }
  }
  pa->count++;
  return 0;
}

static int push_txn(am_txn *t, void *arg) {
  push_arg *pa = arg;
  am_error err = {0};
  int rc = am_ann_last_version(t, pa->d->local.identity, &pa->last, &err);
  if (rc) return rc;
  pa->count = 0;
  return am_ann_each_since(t, pa->d->local.identity, pa->d->own_version_pushed, push_one, pa);
}

/* A hash of the trust list (its keys, in order). */
static int trust_hash_cb(const am_trust *tr, void *arg) {
  uint64_t *h = arg;
  for (int i = 0; i < 32; i++) *h = (*h ^ tr->key[i]) * 1099511628211ull;
  return 0;
}

static int trust_hash_txn(am_txn *t, void *arg) {
  *(uint64_t *)arg = 14695981039346656037ull;
  return am_trust_each(t, trust_hash_cb, arg, NULL);
}

/* When the trust list changed, announcements refused as from an unknown
 * origin may be welcome now: forgotten, and reconciliation finds them
 * again (at once with the peers whose sessions we run). */
void am_daemon_check_trust(am_daemon *d) {
  uint64_t h = 0;
  if (am_store_read(d->node.store, trust_hash_txn, &h, NULL)) return;
  if (h == d->trust_hash) return;
  d->trust_hash = h;
  am_idset_clear(&d->refused);
  am_idset_clear(&d->refused_old);
  am_repl_resync(d);
}

int am_daemon_notify(am_daemon *d) {
  am_daemon_check_trust(d);
  push_arg pa = {d, 0, 0};
  am_error err = {0};
  int rc = am_store_read(d->node.store, push_txn, &pa, &err);
  if (rc) {
    am_warn("cannot read new announcements: %s", am_error_text(&err, rc));
    return rc;
  }
  if (pa.last > d->own_version_pushed) d->own_version_pushed = pa.last;
  if (pa.count) am_info("%d new announcement(s) of ours offered to the connected peers", pa.count);
  return pa.count;
}

static int last_own_txn(am_txn *t, void *arg) {
  am_daemon *d = arg;
  return am_ann_last_version(t, d->local.identity, &d->own_version_pushed, NULL);
}

/* Expired events and jobs leave the store (and so the set reconciled
 * with peers) on every node at about the same time. */
typedef struct prune_arg {
  int64_t now;
  uint64_t n;
} prune_arg;

static int prune_txn(am_txn *t, void *arg) {
  prune_arg *a = arg;
  return am_ann_prune(t, a->now, &a->n, NULL);
}

void am_daemon_prune(am_daemon *d) {
  uint64_t now = am_now_ms(d);
  if (d->last_prune && now - d->last_prune < 1000) return;
  d->last_prune = now;
  prune_arg a = {(int64_t)am_wall(), 0};
  am_error err = {0};
  int rc = am_store_write(d->node.store, prune_txn, &a, &err);
  if (rc) am_warn("cannot delete expired announcements: %s", am_error_text(&err, rc));
  else if (a.n) {
    d->count.pruned += a.n;
    am_info("%llu expired event(s) and job(s) deleted", (unsigned long long)a.n);
  }
}

/* ---- rate limit per remote address ---- */

bool am_rate_allow(am_daemon *d, const uint8_t addr[static 16]) {
  uint64_t now = am_now_ms(d);
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++) h = (h ^ addr[i]) * 16777619u;
  am_rate *r = &d->rates[h % AM_RATE_SLOTS];
  if (memcmp(r->addr, addr, 16) != 0 || r->at == 0) {
    /* A new address takes the slot over (a collision only resets a
     * budget: the limit is per slot, which stays bounded in memory). */
    memcpy(r->addr, addr, 16);
    r->tokens = AM_RATE_BURST;
    r->at = now;
  }
  r->tokens += (double)(now - r->at) / (1000.0 * d->tscale) * AM_RATE_PER_S; /* scaled as timeouts */
  if (r->tokens > AM_RATE_BURST) r->tokens = AM_RATE_BURST;
  r->at = now;
  if (r->tokens < 1.0) return false;
  r->tokens -= 1.0;
  return true;
}

/* ---- listening ---- */

static void on_connection(uv_stream_t *server, int status) {
  am_daemon *d = server->data;
  if (status < 0) {
    am_warn("accepting a connection failed: %s", uv_strerror(status));
    return;
  }
  am_conn *c = am_conn_new(d, false);
  if (!c) {
    am_error_log("out of memory accepting a connection");
    return;
  }
  uv_tcp_init(d->loop, &c->tcp);
  c->tcp.data = c;
  c->tcp_open = true;
  c->state = AM_CS_HANDSHAKE;
  if (uv_accept(server, (uv_stream_t *)&c->tcp)) {
    am_conn_close(c, NULL);
    return;
  }
  d->count.accepted++;
  /* Before anything is read: the cheap refusals. Nothing is said to a
   * refused caller (it is not authenticated; a goodbye needs a session). */
  am_conn_describe(c);
  if (d->stopping) {
    am_conn_close(c, NULL);
    return;
  }
  if (d->nconns > d->max_connections || d->nhandshaking > AM_HANDSHAKES_MAX) {
    d->count.refused_limit++;
    am_log(d->count.refused_limit % 100 == 1 ? AM_LOG_WARN : AM_LOG_DEBUG,
           "refusing a connection: %zu connections, %zu handshakes in progress (limits %zu, "
           "%d)", d->nconns - 1, d->nhandshaking - 1, d->max_connections, AM_HANDSHAKES_MAX);
    am_conn_close(c, NULL);
    return;
  }
  if (!am_rate_allow(d, c->remote_ip)) {
    d->count.refused_rate++;
    am_log(d->count.refused_rate % 100 == 1 ? AM_LOG_WARN : AM_LOG_DEBUG,
           "refusing a connection: too many handshakes from that address");
    am_conn_close(c, NULL);
    return;
  }
  am_conn_accepted(c);
}

static int start_listener(am_daemon *d, am_error *err) {
  const am_addr *a = &d->listen_addr;
  char text[AM_ADDR_TEXT_MAX + 1];
  am_addr_format(a, text);
  struct sockaddr_storage ss;
  int rc;
  bool any = strcmp(a->host, "*") == 0;
  if (any) rc = uv_ip6_addr("::", a->port, (struct sockaddr_in6 *)&ss);
  else if (a->ipv6_literal) rc = uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)&ss);
  else if (a->ipv4_literal) rc = uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)&ss);
  else if (strcmp(a->host, "localhost") == 0)
    rc = uv_ip4_addr("127.0.0.1", a->port, (struct sockaddr_in *)&ss);
  else
    return am_fail(err, AM_EINVAL,
                   "listen address %s: give an IP address (or * for all), not a name", text);
  if (rc) return am_fail(err, AM_EINVAL, "listen address %s is not valid", text);
  uv_tcp_init(d->loop, &d->listener);
  d->listener.data = d;
  d->listening = true;
  rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0);
  if (rc == UV_EAFNOSUPPORT && any) { /* no IPv6 here: all IPv4 addresses */
    uv_ip4_addr("0.0.0.0", a->port, (struct sockaddr_in *)&ss);
    rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&ss, 0);
  }
  if (!rc) rc = uv_listen((uv_stream_t *)&d->listener, 128, on_connection);
  if (rc)
    return am_fail(err, AM_EIO, "cannot listen on %s: %s%s", text,
                   uv_strerror(rc),
                   rc == UV_EADDRINUSE ? " (another program uses that port: change [network] "
                                         "listen in amicale.conf or pass --listen)"
                                       : "");
  /* The port actually bound (port 0 asks the system for a free one). */
  struct sockaddr_storage got;
  int len = sizeof got;
  if (uv_tcp_getsockname(&d->listener, (struct sockaddr *)&got, &len) != 0)
    got.ss_family = AF_UNSPEC;
  am_sockaddr_text(&got, d->listen_text, sizeof d->listen_text, NULL);
  return 0;
}

/* ---- the tick ---- */

static void on_handle_closed(uv_handle_t *h) { (void)h; }

static void on_later(uv_idle_t *h) {
  am_daemon *d = h->data;
  uv_idle_stop(h);
  d->later_started = false;
  am_repl_flush_inbox(d);
  am_repl_flush_offers(d);
  am_conn_reap(d);
  am_ctl_resume(d);
}

void am_daemon_defer(am_daemon *d) {
  if (d->later_started || uv_is_closing((uv_handle_t *)&d->later)) return;
  d->later_started = true;
  uv_idle_start(&d->later, on_later);
}

static void finish(am_daemon *d) {
  am_conn_reap(d);
  am_daemon_flush_stats(d);
  uv_timer_stop(&d->tick);
  uv_close((uv_handle_t *)&d->tick, on_handle_closed);
  uv_close((uv_handle_t *)&d->later, on_handle_closed);
  uv_close((uv_handle_t *)&d->sig_term, on_handle_closed);
  uv_close((uv_handle_t *)&d->sig_int, on_handle_closed);
  uv_close((uv_handle_t *)&d->sig_hup, on_handle_closed);
  am_info("stopped");
}

static void on_tick(uv_timer_t *t) {
  am_daemon *d = t->data;
  uint64_t now = am_now_ms(d);
  /* A tick far behind its time means this process was stopped or stalled:
   * what peers sent meanwhile has not been read yet, so they are not
   * judged idle or too slow on the clock of our own absence. */
  uint64_t period = uv_timer_get_repeat(t);
  if (d->last_tick && now - d->last_tick > 3 * period + 1000)
    for (am_conn *c = d->conns; c; c = c->next) c->t_rx = c->t_wprogress = now;
  d->last_tick = now;
  for (am_conn *c = d->conns, *next; c; c = next) {
    next = c->next;
    am_conn_tick(c, now);
  }
  if (d->stopping) {
    if (!d->conns || now >= d->stop_deadline) {
      for (am_conn *c = d->conns, *next; c; c = next) {
        next = c->next;
        am_conn_close(c, NULL);
      }
      finish(d);
    }
    return;
  }
  for (am_rpeer *p = d->peers, *next; p; p = next) {
    next = p->next;
    if (p->transient && !p->conn && !p->dialing) { /* an invitation that failed */
      peer_free(d, p);
      continue;
    }
    if (p->transient || p->blocked || p->conn || p->dialing || !p->address[0]) continue;
    if (now >= p->next_dial && d->ndialing < AM_DIALS_MAX) {
      if (am_conn_dial(d, p, NULL, NULL, NULL)) am_rpeer_schedule(d, p, true);
    }
  }
  if (now - d->last_prune >= AM_T(d, AM_T_PRUNE)) am_daemon_prune(d);
  if (now - d->last_flush >= AM_T(d, AM_STATS_FLUSH)) {
    d->last_flush = now;
    am_daemon_flush_stats(d);
  }
}

void am_daemon_stop(am_daemon *d, int code) {
  if (d->stopping) return;
  d->stopping = true;
  d->exit_code = code;
  am_info("stopping: saying goodbye to %zu connection(s)", d->nconns);
  if (d->listening) {
    uv_close((uv_handle_t *)&d->listener, on_handle_closed);
    d->listening = false;
  }
  am_control_stop(d);
  for (am_conn *c = d->conns, *next; c; c = next) {
    next = c->next;
    if (c->chan_open) am_conn_goodbye(c, AM_BYE_SHUTDOWN, "the node is stopping");
    else am_conn_close(c, NULL);
  }
  d->stop_deadline = am_now_ms(d) + AM_T(d, AM_T_GOODBYE);
  /* The tick finishes once every connection is gone (or at the deadline);
   * run it soon rather than in a second. */
  uv_timer_start(&d->tick, on_tick, 50, 100);
}

static void on_signal(uv_signal_t *s, int signum) {
  am_daemon *d = s->data;
  if (signum == SIGHUP) {
    am_info("SIGHUP: reloading configuration and peers");
    am_daemon_reload(d);
    return;
  }
  am_info("%s received", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  am_daemon_stop(d, 0);
}

/* ---- start ---- */

static int take_lock(am_daemon *d, am_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/amicaled.lock", d->node.dir);
  d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (d->lock_fd < 0)
    return am_fail(err, AM_EIO, "cannot open %s: %s", path, strerror(errno));
  if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return am_fail(err, AM_EEXIST, "amicaled is already running for %s", d->node.dir);
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(d->lock_fd, 0) == 0 && write(d->lock_fd, pid, (size_t)n) < 0) { /* advisory */
  }
  return 0;
}

int am_daemon_run(const am_daemon_opts *o, am_error *err) {
  am_daemon *d = calloc(1, sizeof *d);
  if (!d) return am_fail(err, AM_ENOMEM, "out of memory");
  d->lock_fd = -1;
  d->tscale = 1.0;
  am_idset_init(&d->fetching, AM_FETCHING_MAX);
  am_idset_init(&d->refused, AM_REFUSED_MAX);
  am_idset_init(&d->refused_old, AM_REFUSED_MAX);
  const char *scale = getenv("AMICALE_TIMEOUT_SCALE");
  if (scale) {
    char *end;
    double f = strtod(scale, &end);
    if (*end || !(f > 0.001 && f <= 100)) {
      free(d);
      return am_fail(err, AM_EUSAGE, "AMICALE_TIMEOUT_SCALE must be a factor from 0.001 to 100, "
                                     "not \"%s\"", scale);
    }
    d->tscale = f;
  }
  int rc = am_node_open(&d->node, o->dir, AM_NODE_STORE | AM_NODE_KEY, err);
  if (rc) goto out;
  d->listen_addr = d->node.conf.listen;
  if (o->listen && (rc = am_addr_parse_listen(o->listen, &d->listen_addr, err))) goto out_node;
  d->max_connections = d->node.conf.max_connections;
  am_store_set_signer(d->node.store, &d->node.id);
  if ((rc = take_lock(d, err))) goto out_node;
  if ((rc = am_hs_local_init(&d->local, &d->node.id))) {
    am_fail(err, rc, "cannot make this run's session key");
    goto out_node;
  }
  am_pubkey_to_text(d->local.identity, d->key_text);
  d->loop = malloc(sizeof *d->loop);
  if (!d->loop || uv_loop_init(d->loop)) {
    free(d->loop);
    d->loop = NULL;
    rc = am_fail(err, AM_EINTERNAL, "cannot start the event loop");
    goto out_node;
  }
  d->started = am_wall();
  d->started_loop = uv_now(d->loop);
  uv_idle_init(d->loop, &d->later);
  d->later.data = d;
  am_store_read(d->node.store, last_own_txn, d, NULL);
  am_store_read(d->node.store, trust_hash_txn, &d->trust_hash, NULL);
  am_daemon_prune(d);
  if ((rc = load_peers(d, err))) goto out_loop;
  if ((rc = start_listener(d, err))) goto out_loop;
  if ((rc = am_control_start(d, err))) goto out_loop;
  uv_signal_init(d->loop, &d->sig_term);
  uv_signal_init(d->loop, &d->sig_int);
  uv_signal_init(d->loop, &d->sig_hup);
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
  uv_signal_start(&d->sig_term, on_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_signal, SIGINT);
  uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
  uv_timer_init(d->loop, &d->tick);
  d->tick.data = d;
  uint64_t period = AM_T(d, 1000) < 50 ? 50 : AM_T(d, 1000) > 1000 ? 1000 : AM_T(d, 1000);
  uv_timer_start(&d->tick, on_tick, period, period);
  size_t npeers = 0;
  for (am_rpeer *p = d->peers; p; p = p->next) npeers++;
  am_info("amicaled %s started: node %s (%s), listening on %s, %zu peer(s), control socket %s",
          AMICALE_VERSION, d->node.conf.name, d->key_text, d->listen_text, npeers,
          d->control_path);
  /* Dial the peers at once rather than after the first second. */
  on_tick(&d->tick);
  uv_run(d->loop, UV_RUN_DEFAULT);
  rc = d->exit_code; /* finish() closed every handle */
  goto out_ran;
out_loop:
  /* A failed start: close whatever was opened, then let libuv finish. */
  if (d->listening) uv_close((uv_handle_t *)&d->listener, on_handle_closed);
  am_control_stop(d);
  uv_close((uv_handle_t *)&d->later, on_handle_closed);
  uv_run(d->loop, UV_RUN_DEFAULT);
out_ran:
  uv_loop_close(d->loop);
  free(d->loop);
out_node:
  am_hs_local_wipe(&d->local);
  for (am_rpeer *p = d->peers, *next; p; p = next) {
    next = p->next;
    free(p);
  }
  if (d->lock_fd >= 0) close(d->lock_fd);
  am_node_close(&d->node);
out:
  am_idset_free(&d->fetching);
  am_idset_free(&d->refused);
  am_idset_free(&d->refused_old);
  am_buf_free(&d->inbox);
  free(d->inbox_items);
  free(d);
  return rc;
}
