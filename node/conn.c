/* One TCP connection, from accept or connect to close (PROTOCOL.md 14):
 * the three handshake messages, admission of the other node, then frames
 * carrying session messages. libuv callbacks stay thin: they move bytes
 * into feed(), which cuts frames and hands them to the handshake
 * (crypto/handshake.c), the channel (crypto/channel.c) and the message
 * codec (proto/session.c), all testable without a socket.
 *
 * Memory per connection is bounded: a pending frame (at most 65537 bytes,
 * held only while it is incomplete), a message being reassembled (at most
 * the channel's limit, 4096 bytes before the hello), and the write queue
 * (AM_WRITE_QUEUE_MAX, past which the peer is dropped as too slow). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/invite.h"
#include "node/daemon.h"
#include "node/log.h"
#include "store/announcements.h"
#include "store/ingest.h"
#include "store/peers.h"

static void on_close(uv_handle_t *h);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void send_hello(am_conn *c);

/* How logs name the other node: its name, else its key. */
static const char *peer_label(const am_conn *c) {
  if (c->client) return "a member's client";
  if (!c->peer) return "?";
  return c->peer->name[0] ? c->peer->name : c->peer->key_text;
}

/* ---- lifetime ---- */

am_conn *am_conn_new(am_daemon *d, bool initiator) {
  am_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->d = d;
  c->initiator = initiator;
  c->t_start = c->t_rx = c->t_wprogress = am_now_ms(d);
  c->next = d->conns;
  if (d->conns) d->conns->prev = c;
  d->conns = c;
  d->nconns++;
  /* Inbound handshakes have their own budget (AM_HANDSHAKES_MAX): our own
   * dials, counted apart, never crowd out peers calling us. */
  if (initiator) {
    d->ndialing++;
    c->dial_counted = true;
  } else {
    d->nhandshaking++;
    c->hs_counted = true;
  }
  return c;
}

static void unlink_conn(am_conn *c) {
  am_daemon *d = c->d;
  if (c->prev) c->prev->next = c->next;
  else d->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  d->nconns--;
}

/* Leaves the peer's view of this connection, and schedules the next dial. */
static void detach(am_conn *c) {
  /* What it sent is stored while the connection is still whole, and what
   * it was to send can be asked of other peers. */
  if (c->d->inbox_conn == c) am_repl_flush_inbox(c->d);
  am_repl_detach(c);
  am_rpeer *p = c->peer;
  if (!p) return;
  bool was_session = p->conn == c;
  if (p->conn == c) p->conn = NULL;
  if (p->dialing == c) p->dialing = NULL;
  c->peer = NULL;
  if (!p->conn && !p->dialing) {
    uint64_t now = am_wall();
    bool lasted = was_session &&
                  (now - p->connected_at) * 1000 >= AM_T(c->d, AM_BACKOFF_RESET);
    am_rpeer_schedule(c->d, p, !lasted);
  }
}

static void leave_handshake(am_conn *c) {
  if (c->hs_counted) {
    c->hs_counted = false;
    c->d->nhandshaking--;
  }
}

static void conn_free(am_conn *c) {
  if (c->d->inbox_conn == c) am_repl_flush_inbox(c->d);
  unlink_conn(c);
  if (c->chan_open) am_chan_free(&c->chan);
  if (c->hs) {
    am_hs_wipe(c->hs);
    free(c->hs);
  }
  free(c->partial);
  am_buf_free(&c->wbuf);
  am_repl_free(c);
  if (c->ai) uv_freeaddrinfo(c->ai);
  sodium_memzero(c->invite_secret, sizeof c->invite_secret);
  free(c);
}

static void on_close(uv_handle_t *h) { conn_free(h->data); }

/* The control client waiting for this connection's outcome gets it. The
 * link is cut on both sides first: the reply does not run anything else
 * (the client resumes later, from the daemon's deferred work). */
static void answer_waiter(am_conn *c) {
  am_ctl_client *w = c->waiter;
  if (!w) return;
  c->waiter = NULL;
  am_ctl_detach(w);
  json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error",
                        c->fail_text[0] ? c->fail_text : "the connection closed");
  am_ctl_reply(w, r);
}

static void stop_counting(am_conn *c) {
  leave_handshake(c);
  if (c->dial_counted) {
    c->dial_counted = false;
    c->d->ndialing--;
  }
}

/* Closes now (no goodbye). Memory goes when libuv is done with the handle,
 * when the resolver calls back (cancelled), or else at the next loop
 * iteration: never inside the caller, which may still use c. */
void am_conn_close(am_conn *c, const char *why) {
  if (c->state == AM_CS_CLOSED) return;
  c->state = AM_CS_CLOSED;
  stop_counting(c);
  if (why && !c->fail_text[0]) snprintf(c->fail_text, sizeof c->fail_text, "%s", why);
  detach(c);
  answer_waiter(c);
  if (c->tcp_open) {
    uv_close((uv_handle_t *)&c->tcp, on_close);
  } else if (c->reopening) {
    /* on_reopen frees */
  } else if (c->resolving) {
    uv_cancel((uv_req_t *)&c->gai); /* on_resolved frees */
  } else {
    c->dead = true;
    am_daemon_defer(c->d);
  }
}

void am_conn_reap(am_daemon *d) {
  for (am_conn *c = d->conns, *next; c; c = next) {
    next = c->next;
    if (c->dead) conn_free(c);
  }
}

/* ---- writing ---- */

/* Output: at most one uv_write in flight (c->wreq, owning its buffer);
 * what is sent meanwhile is appended to c->wbuf and goes out as the next
 * write. Memory for a peer that does not read is then about the bytes
 * counted in c->queued, not one allocation per message. */
static int start_write(am_conn *c, char *data, size_t n);

static void on_write(uv_write_t *req, int status) {
  am_conn *c = req->data;
  c->t_wprogress = am_now_ms(c->d);
  c->queued -= c->wlen;
  free(c->wdata);
  c->wdata = NULL;
  c->wlen = 0;
  c->writing = false;
  if (c->state == AM_CS_CLOSED) return;
  if (status < 0) {
    am_debug("%s: write failed: %s", c->remote_text, uv_strerror(status));
    am_conn_close(c, "write failed");
    return;
  }
  if (c->wbuf.len) {
    char *data = c->wbuf.data;
    size_t n = c->wbuf.len;
    c->wbuf.data = NULL;
    c->wbuf.len = c->wbuf.cap = 0;
    c->queued -= n; /* start_write counts it again */
    if (start_write(c, data, n)) am_conn_close(c, "write failed");
    return;
  }
  if (c->state == AM_CS_CLOSING) am_conn_close(c, NULL);
  else am_repl_pump(c);
}

/* Hands data (malloc'd, taken over) to libuv. */
static int start_write(am_conn *c, char *data, size_t n) {
  c->writing = true;
  c->wdata = data;
  c->wlen = n;
  c->queued += n;
  c->wreq.data = c;
  uv_buf_t ub = uv_buf_init(data, (unsigned)n);
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_write)) {
    c->queued -= n;
    c->writing = false;
    c->wdata = NULL;
    c->wlen = 0;
    free(data);
    return AM_EIO;
  }
  return 0;
}

/* Takes b's buffer. The common case (nothing waiting, the socket takes it
 * all) costs no allocation and no copy. */
static int write_buf(am_conn *c, am_buf *b) {
  if (c->state == AM_CS_CLOSED || !c->tcp_open) {
    am_buf_free(b);
    return AM_EIO;
  }
  size_t n = b->len;
  c->bytes_out += n;
  c->d->count.bytes_out += n;
  if (c->peer) c->peer->bytes_out += n, c->peer->d_bytes_out += n, c->peer->dirty = true;
  if (c->writing) {
    int rc = am_buf_append(&c->wbuf, b->data, n);
    am_buf_free(b);
    if (rc) return AM_ENOMEM;
    c->queued += n;
    return 0;
  }
  size_t off = 0;
  if (c->queued == 0) c->t_wprogress = am_now_ms(c->d); /* output was idle until now */
  uv_buf_t ub = uv_buf_init(b->data, (unsigned)n);
  int w = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
  if (w > 0) off = (size_t)w;
  if (off == n) {
    am_buf_free(b);
    return 0;
  }
  if (off) memmove(b->data, b->data + off, n - off);
  char *data = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return start_write(c, data, n - off);
}

int am_conn_send(am_conn *c, const am_msg *m) {
  if (!c->chan_open || c->state == AM_CS_CLOSED || c->state == AM_CS_CLOSING) return AM_EUSAGE;
  am_buf plain = {0}, out = {0};
  am_error err = {0};
  int rc = am_msg_encode(m, &plain, &err);
  if (rc) {
    am_buf_free(&plain);
    am_warn("%s: cannot send %s: %s", c->remote_text, am_msg_type_name(m->type),
            am_error_text(&err, rc));
    return rc;
  }
  /* The queue is checked before sealing: a frame sealed and not sent
   * would leave a gap in the nonces, and the goodbye would not decrypt. */
  if (m->type != AM_MSG_GOODBYE && c->queued + plain.len > AM_WRITE_QUEUE_MAX) {
    am_buf_free(&plain);
    am_warn("%s: %s does not read what we send (%zu bytes waiting): dropped as too-slow",
            c->remote_text, peer_label(c), c->queued);
    am_conn_goodbye(c, AM_BYE_TOO_SLOW, "more than %u bytes waiting to be read",
                    AM_WRITE_QUEUE_MAX);
    return AM_ETOOBIG;
  }
  rc = am_chan_seal(&c->chan, (const uint8_t *)plain.data, plain.len, &out);
  am_buf_free(&plain);
  if (!rc) rc = write_buf(c, &out);
  else am_buf_free(&out);
  if (rc) {
    /* Nonces used up, memory, or the socket: this stream cannot go on. */
    am_warn("%s: cannot send %s (%s): connection closed", c->remote_text,
            am_msg_type_name(m->type), am_strerror(rc));
    am_conn_close(c, "cannot send");
  }
  return rc;
}

void am_conn_goodbye(am_conn *c, int reason, const char *fmt, ...) {
  if (c->state == AM_CS_CLOSED || c->state == AM_CS_CLOSING) return;
  am_msg m = {.type = AM_MSG_GOODBYE, .code = (uint64_t)reason};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m.text, sizeof m.text, fmt, ap);
  va_end(ap);
  if (!c->fail_text[0])
    snprintf(c->fail_text, sizeof c->fail_text, "%s: %s", am_bye_name((uint64_t)reason), m.text);
  stop_counting(c);
  /* Our side ended it for a fault of the other: the operator sees why. */
  if (c->peer && (reason == AM_BYE_IDLE || reason == AM_BYE_PROTOCOL || reason == AM_BYE_TOO_SLOW))
    am_rpeer_error(c->peer, "dropped by this node: %s: %s", am_bye_name((uint64_t)reason), m.text);
  if (c->chan_open) am_conn_send(c, &m);
  if (c->state == AM_CS_CLOSED) return; /* the send failed and closed it */
  c->state = AM_CS_CLOSING;
  c->t_closing = am_now_ms(c->d);
  detach(c);
  answer_waiter(c);
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (c->queued == 0) am_conn_close(c, NULL);
}

/* ---- the handshake ---- */

static int hs_write(am_conn *c) {
  am_buf b = {0};
  am_error err = {0};
  if (am_buf_reserve(&b, AM_HS_MSG_MAX + 2)) return AM_ENOMEM;
  size_t n = 0;
  int rc = am_hs_write(c->hs, (uint8_t *)b.data, AM_HS_MSG_MAX + 2, &n, &err);
  if (rc) {
    am_buf_free(&b);
    am_warn("%s: handshake: %s", c->remote_text, am_error_text(&err, rc));
    return rc;
  }
  b.len = n;
  return write_buf(c, &b);
}

static int invite_proof(void *arg, const uint8_t h[static 64], uint8_t proof[static 40]) {
  am_conn *c = arg;
  am_invite_proof(c->invite_secret, h, proof);
  return 0;
}

/* Which of two connections to the same peer stays (PROTOCOL.md 14.7). */
static bool keep_new(am_daemon *d, am_conn *newc, am_conn *old) {
  if (newc->initiator == old->initiator) return true;
  const uint8_t *remote = newc->peer->key;
  const uint8_t *new_opener = newc->initiator ? d->local.identity : remote;
  const uint8_t *old_opener = old->initiator ? d->local.identity : remote;
  return memcmp(new_opener, old_opener, 32) < 0;
}

/* The session is up with peer p (authenticated): one connection per pair. */
static void attach(am_conn *c, am_rpeer *p) {
  am_daemon *d = c->d;
  c->peer = p;
  if (p->dialing == c) p->dialing = NULL;
  am_conn *old = p->conn;
  if (old && old != c) {
    if (keep_new(d, c, old)) {
      old->peer = NULL; /* no reschedule: c replaces it */
      am_conn_goodbye(old, AM_BYE_DUPLICATE, "another connection between us is kept");
    } else {
      c->peer = NULL;
      am_conn_goodbye(c, AM_BYE_DUPLICATE, "another connection between us is kept");
      return;
    }
  }
  p->conn = c;
  p->state = AM_PS_CONNECTED;
  p->connected_at = p->last_seen = am_wall();
  p->d_connects++;
  p->dirty = true;
}

/* Redeems an invitation and records the new peer, in one transaction. */
typedef struct redeem_arg {
  const uint8_t *proof, *h, *key;
  uint64_t now;
  am_invite inv;
  am_error err;
} redeem_arg;

static int redeem_txn(am_txn *t, void *arg) {
  redeem_arg *a = arg;
  am_error err = {0};
  int rc = am_invite_redeem(t, a->proof, a->h, (int64_t)a->now, &a->inv, NULL, &a->err);
  if (rc) return rc;
  am_peer pr;
  bool existed = am_peer_get(t, a->key, &pr) == 0;
  if (!existed) {
    memset(&pr, 0, sizeof pr);
    memcpy(pr.key, a->key, 32);
    pr.added = (int64_t)a->now;
    pr.via = AM_PEER_VIA_INVITED;
  }
  if ((rc = am_peer_put(t, &pr, NULL, &err))) return rc;
  am_trust tr = {0};
  if (am_trust_get(t, a->key, &tr) == 0) return 0; /* already trusted: keep its name */
  memcpy(tr.key, a->key, 32);
  tr.added = a->now;
  bool had = false;
  return am_trust_add(t, &tr, &had, &err);
}

/* Responder, after message 3: is the initiator let in? */
static void admit(am_conn *c) {
  am_daemon *d = c->d;
  const uint8_t *key = c->hs->remote;
  char kt[44];
  am_pubkey_to_text(key, kt);
  if (memcmp(key, d->local.identity, 32) == 0) {
    am_conn_goodbye(c, AM_BYE_SELF, "this is the same node");
    return;
  }
  am_rpeer *p = am_rpeer_find(d, key);
  if (p && p->transient) p = NULL; /* an invitation we are accepting: not a peer */
  if (p && p->blocked) {
    am_warn("%s: refused %s: blocked", c->remote_text, kt);
    am_conn_goodbye(c, AM_BYE_BLOCKED, "your key is blocked by this node");
    return;
  }
  /* A member's key, or a member's login code (section 16). */
  if (!p) {
    int m = am_serve_admit(c, key);
    if (m) return; /* admitted as a client, or refused */
  }
  const uint8_t *proof, *h;
  if (!p && am_hs_invitation(c->hs, &proof, &h)) {
    am_error err = {0};
    redeem_arg a = {.proof = proof, .h = h, .key = key, .now = am_wall()};
    int rc = am_store_write(d->node.store, redeem_txn, &a, &err);
    if (rc && a.err.msg[0]) err = a.err;
    if (rc) {
      am_warn("%s: refused %s: invitation: %s", c->remote_text, kt, am_error_text(&err, rc));
      am_conn_goodbye(c, AM_BYE_INVITATION, "%s", am_error_text(&err, rc));
      return;
    }
    p = am_rpeer_ensure(d, key);
    if (!p) {
      am_conn_goodbye(c, AM_BYE_OVERLOADED, "out of memory");
      return;
    }
    am_info("%s: %s joined with an invitation; it is now a trusted peer", c->remote_text, kt);
  }
  if (!p) {
    am_warn("%s: refused %s: not a peer of this node (add it with: amicale peer add "
            "HOST:PORT %s)", c->remote_text, kt, kt);
    am_conn_goodbye(c, AM_BYE_UNKNOWN_PEER,
                    "this node does not know your key; ask its administrator for an "
                    "invitation or to add you as a peer");
    return;
  }
  attach(c, p);
}

/* Both sides, once the three messages have passed. */
static void handshake_done(am_conn *c) {
  am_daemon *d = c->d;
  am_noise_cipher tx, rx;
  if (am_hs_split(c->hs, &tx, &rx)) {
    am_conn_close(c, "handshake split failed");
    return;
  }
  am_chan_init(&c->chan, &tx, &rx, AM_MSG_MAX_PREHELLO);
  sodium_memzero(&tx, sizeof tx);
  sodium_memzero(&rx, sizeof rx);
  c->chan_open = true;
  d->count.handshakes_ok++;
  stop_counting(c);
  sodium_memzero(c->invite_secret, sizeof c->invite_secret); /* message 3 is out */
  c->state = AM_CS_HELLO;
  c->t_start = am_now_ms(d);
  if (!c->initiator) {
    admit(c);
  } else {
    attach(c, c->peer);
  }
  if (c->state != AM_CS_HELLO) return;
  am_hs_wipe(c->hs);
  free(c->hs);
  c->hs = NULL;
  send_hello(c);
}

static void handshake_failed(am_conn *c, int failure, const char *why) {
  am_daemon *d = c->d;
  d->count.handshakes_failed++;
  char kt[44] = "";
  if (c->peer) am_pubkey_to_text(c->peer->key, kt);
  if (failure == AM_HSF_WRONG_KEY) {
    char got[44];
    am_pubkey_to_text(c->hs->remote, got);
    am_warn("%s: refused: expected node %s but %s answered (wrong address or a man in the "
            "middle)", c->remote_text, kt, got);
    snprintf(c->fail_text, sizeof c->fail_text,
             "a different node answered at this address (key %s)", got);
  } else {
    am_info("%s: handshake failed: %s", c->remote_text, why);
  }
  if (c->peer && c->initiator) am_rpeer_error(c->peer, "%s", c->fail_text[0] ? c->fail_text : why);
  am_conn_close(c, why);
}

static void on_handshake_msg(am_conn *c, const uint8_t *msg, size_t len) {
  am_error err = {0};
  int rc = am_hs_read(c->hs, msg, len, &err);
  if (rc) {
    handshake_failed(c, c->hs->failure, am_error_text(&err, rc));
    return;
  }
  if (am_hs_wants_write(c->hs) && hs_write(c)) {
    am_conn_close(c, "cannot write the handshake");
    return;
  }
  if (am_hs_done(c->hs)) handshake_done(c);
}

/* ---- session messages ---- */

static void send_hello(am_conn *c) {
  am_daemon *d = c->d;
  am_msg m = {.type = AM_MSG_HELLO};
  snprintf(m.hello.name, sizeof m.hello.name, "%s", d->node.conf.name);
  m.hello.kind = (uint32_t)d->node.conf.kind;
  snprintf(m.hello.software, sizeof m.hello.software, "amicale/%s", AMICALE_VERSION);
  if (c->client) { /* a member's client: requests only (section 16) */
    snprintf(m.hello.caps[0], sizeof m.hello.caps[0], AM_CAP_MEMBERS);
    m.hello.ncaps = 1;
  } else {
    snprintf(m.hello.caps[0], sizeof m.hello.caps[0], "announce");
    snprintf(m.hello.caps[1], sizeof m.hello.caps[1], AM_CAP_REPLICATE);
    m.hello.ncaps = 2;
  }
  m.hello.time = am_wall();
  if (d->node.conf.has_public_address)
    am_addr_format(&d->node.conf.public_address, m.hello.address);
  am_conn_send(c, &m);
}

static void on_hello(am_conn *c, const am_msg *m) {
  am_daemon *d = c->d;
  am_rpeer *p = c->peer;
  c->state = AM_CS_READY;
  c->chan.limit = AM_MSG_MAX;
  p->hello = m->hello;
  p->has_hello = true;
  if (!p->name[0]) {
    snprintf(p->name, sizeof p->name, "%s", m->hello.name);
    if (!p->transient) am_daemon_name_peer(d, p); /* recorded without one */
  }
  uint64_t now = am_wall();
  uint64_t skew = m->hello.time > now ? m->hello.time - now : now - m->hello.time;
  if (skew > 300)
    am_warn("%s: %s's clock is %llu s off ours: announcements may be refused as "
            "from-the-future; check NTP on both machines", c->remote_text, p->key_text,
            (unsigned long long)skew);
  am_info("%s: connected to %s (%s, %s)%s", c->remote_text, m->hello.name, p->key_text,
          c->initiator ? "outbound" : "inbound", c->inviting ? " with an invitation" : "");
  if (c->inviting && p->transient) {
    am_error err = {0};
    int rc = am_daemon_adopt(d, p, &err);
    if (rc) {
      am_error_log("cannot record the new peer %s: %s", p->key_text, am_error_text(&err, rc));
      snprintf(c->fail_text, sizeof c->fail_text, "cannot record the new peer: %s",
               am_error_text(&err, rc));
      am_conn_goodbye(c, AM_BYE_SHUTDOWN, "cannot record you as a peer");
      return;
    }
  }
  if (am_hello_has_cap(&m->hello, AM_CAP_REPLICATE) && am_repl_start(c))
    am_warn("%s: out of memory: no replication with %s", c->remote_text, p->key_text);
  if (c->inviting && c->waiter) {
    json_t *r = json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "key", p->key_text, "name",
                          m->hello.name, "address", p->address);
    am_ctl_reply(c->waiter, r);
    c->waiter = NULL;
  }
}

/* Announcements are stored in batches (am_repl_take, am_repl_read_done). */
static void on_announce(am_conn *c, const am_msg *m) {
  am_daemon *d = c->d;
  c->peer->ann_in++;
  c->peer->d_ann_in++;
  d->count.ann_in++;
  if (am_repl_take(c, m->envelope, m->envelope_len))
    am_warn("%s: out of memory: an announcement dropped", c->remote_text);
}

static void on_message(am_conn *c, const uint8_t *p, size_t len) {
  am_msg m;
  am_error err = {0};
  if (am_msg_decode(p, len, &m, &err)) {
    am_warn("%s: protocol error: %s", c->remote_text, err.msg);
    am_conn_goodbye(c, AM_BYE_PROTOCOL, "%s", err.msg);
    return;
  }
  if (c->state == AM_CS_HELLO && m.type != AM_MSG_GOODBYE) {
    if (m.type != AM_MSG_HELLO) {
      am_conn_goodbye(c, AM_BYE_PROTOCOL, "the first message must be a hello");
      return;
    }
    if (c->client) am_serve_hello(c, &m);
    else on_hello(c, &m);
    return;
  }
  if (c->client) {
    am_serve_message(c, &m);
    return;
  }
  if (c->peer) c->peer->last_seen = am_wall();
  switch (m.type) {
  case AM_MSG_HELLO:
    am_conn_goodbye(c, AM_BYE_PROTOCOL, "hello sent twice");
    return;
  case AM_MSG_PING: {
    am_msg pong = {.type = AM_MSG_PONG, .token = m.token};
    am_conn_send(c, &pong);
    return;
  }
  case AM_MSG_PONG:
    if (c->ping_out && m.token == c->ping_token) {
      c->ping_out = false;
      c->peer->rtt_ms = (uint32_t)(am_now_ms(c->d) - c->ping_sent_at);
      c->peer->rtt_known = true;
    }
    return;
  case AM_MSG_GOODBYE: {
    const char *name = am_bye_name(m.code);
    char why[300];
    snprintf(why, sizeof why, "goodbye: %s%s%s", name ? name : "unknown reason",
             m.text[0] ? ": " : "", m.text);
    am_info("%s: %s said %s", c->remote_text, peer_label(c), why);
    /* duplicate: another connection carries on; not a failure (14.7). */
    if (c->peer && m.code != AM_BYE_DUPLICATE) am_rpeer_error(c->peer, "%s", why);
    /* An invitation's refusal is best told in the inviting node's words. */
    snprintf(c->fail_text, sizeof c->fail_text, "%s",
             c->inviting && m.text[0] ? m.text : why);
    am_conn_close(c, NULL);
    return;
  }
  case AM_MSG_ERROR:
    am_warn("%s: %s reports error %llu: %s", c->remote_text, peer_label(c),
            (unsigned long long)m.code, m.text);
    return;
  case AM_MSG_ANNOUNCE:
    on_announce(c, &m);
    return;
  default: {
    if (am_repl_message(c, &m)) return;
    am_msg e = {.type = AM_MSG_ERROR, .code = AM_MSGERR_UNKNOWN_MESSAGE};
    if (m.type == AM_MSG_REQUEST || m.type == AM_MSG_RESPONSE) {
      /* Requests are for members' clients (16), not for nodes. */
      e.code = AM_MSGERR_UNSUPPORTED;
      snprintf(e.text, sizeof e.text, "%s is for members' client sessions only",
               am_msg_type_name(m.type));
    } else if (m.type < AM_MSG__KNOWN) {
      /* A replication message from a peer whose hello did not say it
       * replicates (15): we do not talk replication with it. */
      e.code = AM_MSGERR_UNSUPPORTED;
      snprintf(e.text, sizeof e.text, "%s needs the capability \"%s\" in your hello",
               am_msg_type_name(m.type), AM_CAP_REPLICATE);
    } else {
      snprintf(e.text, sizeof e.text, "message type %llu is unknown here",
               (unsigned long long)m.type);
    }
    am_conn_send(c, &e);
    return;
  }
  }
}

/* One complete frame (or handshake message) body, len bytes, mutable. */
static void on_frame(am_conn *c, uint8_t *body, size_t len) {
  if (c->state == AM_CS_HANDSHAKE) {
    on_handshake_msg(c, body, len);
    return;
  }
  const uint8_t *msg;
  size_t mlen;
  int rc = am_chan_open(&c->chan, body, len, &msg, &mlen);
  if (rc < 0) {
    if (rc == AM_ETOOBIG) {
      am_warn("%s: message over %zu bytes", c->remote_text, c->chan.limit);
      am_conn_goodbye(c, AM_BYE_PROTOCOL, "message longer than %zu bytes", c->chan.limit);
    } else {
      am_warn("%s: a frame does not authenticate: connection dropped", c->remote_text);
      am_conn_close(c, "a frame did not authenticate");
    }
    return;
  }
  if (rc == 1) on_message(c, msg, mlen);
}

/* The longest frame (or handshake message) the current state accepts:
 * before the peer's hello nothing longer than a whole pre-hello message is
 * useful, so an unauthenticated peer holds at most ~4 KiB of ours. */
static size_t frame_max(const am_conn *c) {
  if (c->state == AM_CS_HANDSHAKE) return am_hs_read_max(c->hs);
  if (c->state == AM_CS_HELLO) return AM_MSG_MAX_PREHELLO + 1 + AM_FRAME_TAG;
  return AM_FRAME_MAX;
}

/* The bounds a frame length must be within, in the current state. */
static bool length_ok(const am_conn *c, size_t n) {
  if (c->state == AM_CS_HANDSHAKE)
    return n >= am_hs_read_min(c->hs) && n <= am_hs_read_max(c->hs);
  return n >= 1 + AM_FRAME_TAG && n <= frame_max(c);
}

static bool reading(const am_conn *c) {
  return c->state == AM_CS_HANDSHAKE || c->state == AM_CS_HELLO || c->state == AM_CS_READY;
}

/* Cuts the byte stream into frames: whole frames straight from the read
 * buffer, a partial one copied aside until the rest arrives. */
static void feed(am_conn *c, uint8_t *p, size_t n) {
  while (n > 0 && reading(c)) {
    if (c->partial_len > 0 || n < 2) {
      if (!c->partial) {
        c->partial = malloc(2 + frame_max(c));
        if (!c->partial) {
          am_conn_close(c, "out of memory");
          return;
        }
      }
      size_t need = 2;
      if (c->partial_len >= 2) need = 2 + ((size_t)c->partial[0] << 8 | c->partial[1]);
      size_t take = need - c->partial_len < n ? need - c->partial_len : n;
      memcpy(c->partial + c->partial_len, p, take);
      c->partial_len += take;
      p += take;
      n -= take;
      if (c->partial_len == 2) {
        size_t fl = (size_t)c->partial[0] << 8 | c->partial[1];
        if (!length_ok(c, fl)) {
          am_info("%s: frame length %zu out of bounds: connection dropped", c->remote_text, fl);
          am_conn_close(c, "bad frame length");
          return;
        }
        continue;
      }
      if (c->partial_len < 2 || c->partial_len < need) continue;
      c->partial_len = 0;
      on_frame(c, c->partial + 2, need - 2);
      /* Give the buffer back when nothing is pending: idle peers hold none. */
      if (c->partial_len == 0 && c->state != AM_CS_CLOSED) {
        free(c->partial);
        c->partial = NULL;
      }
      continue;
    }
    size_t fl = (size_t)p[0] << 8 | p[1];
    if (!length_ok(c, fl)) {
      am_info("%s: frame length %zu out of bounds: connection dropped", c->remote_text, fl);
      am_conn_close(c, "bad frame length");
      return;
    }
    if (n < 2 + fl) { /* incomplete: keep it aside */
      c->partial = malloc(2 + frame_max(c));
      if (!c->partial) {
        am_conn_close(c, "out of memory");
        return;
      }
      memcpy(c->partial, p, n);
      c->partial_len = n;
      return;
    }
    on_frame(c, p + 2, fl);
    p += 2 + fl;
    n -= 2 + fl;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  am_conn *c = h->data;
  buf->base = (char *)c->d->readbuf;
  buf->len = sizeof c->d->readbuf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  am_conn *c = s->data;
  if (n == 0) { /* EAGAIN: nothing more for now */
    am_repl_read_done(c, false);
    return;
  }
  if (n < 0) {
    if (c->state == AM_CS_READY || c->state == AM_CS_HELLO) {
      am_info("%s: connection to %s lost (%s, no goodbye)", c->remote_text,
              peer_label(c), n == UV_EOF ? "closed" : uv_strerror((int)n));
      if (c->peer) am_rpeer_error(c->peer, "connection lost without goodbye");
    } else if (c->state == AM_CS_HANDSHAKE) {
      am_debug("%s: closed during the handshake", c->remote_text);
    }
    am_conn_close(c, c->state == AM_CS_HANDSHAKE ? "connection closed during the handshake"
                                                 : "connection lost");
    return;
  }
  am_daemon *d = c->d;
  c->t_rx = am_now_ms(d);
  c->bytes_in += (size_t)n;
  d->count.bytes_in += (size_t)n;
  if (c->peer && c->peer->conn == c)
    c->peer->bytes_in += (size_t)n, c->peer->d_bytes_in += (size_t)n, c->peer->dirty = true;
  feed(c, (uint8_t *)buf->base, (size_t)n);
  am_repl_read_done(c, (size_t)n == sizeof d->readbuf);
}

/* ---- starting: accepted or dialled ---- */

void am_sockaddr_text(const struct sockaddr_storage *ss, char *text, size_t n,
                      uint8_t ip16[16]) {
  char ip[64] = "?";
  if (ip16) memset(ip16, 0, 16);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof ip);
    if (ip16) ip16[10] = ip16[11] = 0xff, memcpy(ip16 + 12, &a->sin_addr, 4);
    snprintf(text, n, "%s:%d", ip, ntohs(a->sin_port));
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof ip);
    if (ip16) memcpy(ip16, &a->sin6_addr, 16);
    snprintf(text, n, "[%s]:%d", ip, ntohs(a->sin6_port));
  } else {
    snprintf(text, n, "?");
  }
}

void am_conn_describe(am_conn *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) ss.ss_family = AF_UNSPEC;
  am_sockaddr_text(&ss, c->remote_text, sizeof c->remote_text, c->remote_ip);
}

static int start_handshake(am_conn *c) {
  c->t_start = am_now_ms(c->d); /* the handshake's own 10 s start now */
  c->hs = calloc(1, sizeof *c->hs);
  if (!c->hs) return AM_ENOMEM;
  int rc = c->initiator
               ? am_hs_start_initiator(c->hs, &c->d->local, c->peer->key,
                                       c->inviting ? invite_proof : NULL, c)
               : am_hs_start_responder(c->hs, &c->d->local);
  if (rc) return rc;
  c->state = AM_CS_HANDSHAKE;
  c->tcp.data = c;
  uv_tcp_nodelay(&c->tcp, 1);
  if ((rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read))) return AM_EIO;
  if (c->initiator && hs_write(c)) return AM_EIO;
  return 0;
}

void am_conn_accepted(am_conn *c) {
  am_debug("%s: incoming connection", c->remote_text);
  if (start_handshake(c)) am_conn_close(c, "cannot start the handshake");
}

static void on_connect(uv_connect_t *req, int status);

/* Connects to the next resolved address (a name may have several: IPv6
 * and IPv4, several servers). 0, or AM_ENOTFOUND when none is left. */
static void on_reopen(uv_handle_t *h);

/* No address of the peer could be dialled (fail_text says why). */
static void connect_failed(am_conn *c) {
  if (!c->fail_text[0]) snprintf(c->fail_text, sizeof c->fail_text, "cannot connect");
  am_info("%s", c->fail_text);
  if (c->peer) am_rpeer_error(c->peer, "%s", c->fail_text);
  am_conn_close(c, NULL);
}

/* Gives up the current address (its socket closes) and goes on with the
 * next one from on_reopen. */
static void try_next(am_conn *c, const char *why) {
  am_debug("%s: %s; trying its next address", c->remote_text, why);
  snprintf(c->fail_text, sizeof c->fail_text, "cannot connect to %s: %s", c->remote_text, why);
  c->tcp_open = false;
  c->reopening = true;
  uv_close((uv_handle_t *)&c->tcp, on_reopen);
}

/* Connects to the next resolved address. 0 (connecting, or moving on to
 * the one after), AM_ENOTFOUND when none is left, AM_EIO when the last one
 * fails at once. */
static int connect_next(am_conn *c) {
  struct addrinfo *a = c->ai_next;
  if (!a) return AM_ENOTFOUND;
  c->ai_next = a->ai_next;
  uv_tcp_init(c->d->loop, &c->tcp);
  c->tcp.data = c;
  c->tcp_open = true;
  c->state = AM_CS_CONNECTING;
  c->t_attempt = am_now_ms(c->d);
  c->connect_req.data = c;
  int rc = uv_tcp_connect(&c->connect_req, &c->tcp, a->ai_addr, on_connect);
  if (rc == 0) return 0;
  if (!c->ai_next) {
    snprintf(c->fail_text, sizeof c->fail_text, "cannot connect to %s: %s", c->remote_text,
             uv_strerror(rc));
    return AM_EIO;
  }
  try_next(c, uv_strerror(rc));
  return 0;
}

static void on_reopen(uv_handle_t *h) {
  am_conn *c = h->data;
  c->reopening = false;
  if (c->state == AM_CS_CLOSED) { /* closed meanwhile */
    conn_free(c);
    return;
  }
  if (connect_next(c)) connect_failed(c);
}

static void on_connect(uv_connect_t *req, int status) {
  am_conn *c = req->data;
  /* Closed, or abandoned for the next address (the cancelled connect). */
  if (c->state == AM_CS_CLOSED || c->reopening) return;
  if (status < 0 && c->ai_next) {
    try_next(c, uv_strerror(status));
    return;
  }
  if (status < 0) {
    char why[400];
    snprintf(why, sizeof why, "cannot connect to %s: %s", c->remote_text, uv_strerror(status));
    am_info("%s", why);
    if (c->peer) am_rpeer_error(c->peer, "%s", why);
    snprintf(c->fail_text, sizeof c->fail_text, "%s", why);
    am_conn_close(c, why);
    return;
  }
  c->fail_text[0] = 0; /* an earlier address's failure is no longer the story */
  am_conn_describe(c);
  am_debug("%s: connected, handshake", c->remote_text);
  if (start_handshake(c)) am_conn_close(c, "cannot start the handshake");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  am_conn *c = req->data;
  c->resolving = false;
  if (c->state == AM_CS_CLOSED) { /* closed while resolving */
    uv_freeaddrinfo(res);
    conn_free(c);
    return;
  }
  if (status < 0 || !res) {
    char why[400];
    snprintf(why, sizeof why, "cannot resolve %s: %s", c->remote_text, uv_strerror(status));
    am_info("%s", why);
    if (c->peer) am_rpeer_error(c->peer, "%s", why);
    snprintf(c->fail_text, sizeof c->fail_text, "%s", why);
    uv_freeaddrinfo(res);
    am_conn_close(c, why);
    return;
  }
  c->ai = c->ai_next = res;
  if (connect_next(c)) connect_failed(c);
}

/* Splits "host:port" / "[v6]:port" for getaddrinfo. */
static int split_address(const char *a, char *host, size_t hl, char *port, size_t pl) {
  const char *colon = strrchr(a, ':');
  if (!colon || !colon[1]) return -1;
  const char *h = a;
  size_t n = (size_t)(colon - a);
  if (n >= 2 && a[0] == '[' && a[n - 1] == ']') h++, n -= 2;
  if (n == 0 || n >= hl || strlen(colon + 1) >= pl) return -1;
  memcpy(host, h, n);
  host[n] = 0;
  snprintf(port, pl, "%s", colon + 1);
  return 0;
}

int am_conn_dial(am_daemon *d, am_rpeer *p, const char *address,
                 const uint8_t *invite_secret, am_ctl_client *waiter) {
  char host[300], port[8];
  if (!address) address = p->address;
  if (split_address(address, host, sizeof host, port, sizeof port))
    return AM_EINVAL;
  am_conn *c = am_conn_new(d, true);
  if (!c) return AM_ENOMEM;
  c->peer = p;
  p->dialing = c;
  p->state = AM_PS_CONNECTING;
  snprintf(c->remote_text, sizeof c->remote_text, "%s", address);
  if (invite_secret) {
    c->inviting = true;
    memcpy(c->invite_secret, invite_secret, sizeof c->invite_secret);
    c->waiter = waiter;
  }
  c->state = AM_CS_RESOLVING;
  c->gai.data = c;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  c->resolving = true;
  int rc = uv_getaddrinfo(d->loop, &c->gai, on_resolved, host, port, &hints);
  if (rc) {
    c->resolving = false;
    am_rpeer_error(p, "cannot resolve %s: %s", address, uv_strerror(rc));
    /* The caller reschedules (or answers its waiter): leaving without a
     * trace here keeps the backoff from doubling twice. */
    c->waiter = NULL;
    p->dialing = NULL;
    c->peer = NULL;
    am_conn_close(c, "cannot resolve");
    return AM_EIO;
  }
  am_debug("dialling %s (%s)", p->address, p->key_text);
  return 0;
}

/* ---- timers (from the daemon's one-second tick) ---- */

void am_conn_tick(am_conn *c, uint64_t now) {
  switch (c->state) {
  case AM_CS_CONNECTING:
    /* An address that does not answer (SYNs dropped) is given up after a
     * few seconds when another remains, not after the kernel's minutes. */
    if (c->ai_next && now - c->t_attempt > AM_T(c->d, AM_T_CONNECT_ATTEMPT)) {
      try_next(c, "no answer");
      break;
    }
    if (now - c->t_attempt > AM_T(c->d, AM_T_HANDSHAKE)) {
      am_info("%s: no answer", c->remote_text);
      if (c->peer) am_rpeer_error(c->peer, "cannot connect to %s: no answer", c->remote_text);
      am_conn_close(c, "no answer");
    }
    break;
  case AM_CS_RESOLVING:
  case AM_CS_HANDSHAKE:
    if (now - c->t_start > AM_T(c->d, AM_T_HANDSHAKE)) {
      am_info("%s: handshake timed out", c->remote_text);
      if (c->peer && c->initiator) am_rpeer_error(c->peer, "handshake timed out");
      am_conn_close(c, "handshake timed out");
    }
    break;
  case AM_CS_HELLO:
    if (now - c->t_start > AM_T(c->d, AM_T_HELLO))
      am_conn_goodbye(c, AM_BYE_PROTOCOL, "no hello within %d s", AM_T_HELLO / 1000);
    break;
  case AM_CS_READY:
    if (c->queued == 0) {
      c->t_wprogress = now;
      c->wq_seen = 0;
    } else {
      /* Bytes leaving libuv's queue are progress too (a large write in
       * flight completes only at its end). */
      size_t wq = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
      if (wq < c->wq_seen) c->t_wprogress = now;
      c->wq_seen = wq;
    }
    if (c->queued && now - c->t_wprogress > AM_T(c->d, AM_T_STALL)) {
      am_warn("%s: %s has not read what we send for %d s (%zu bytes waiting): dropped as "
              "too-slow", c->remote_text, peer_label(c),
              (int)(AM_T(c->d, AM_T_STALL) / 1000), c->queued);
      am_conn_goodbye(c, AM_BYE_TOO_SLOW, "nothing read for %d s",
                      (int)(AM_T(c->d, AM_T_STALL) / 1000));
    } else if (now - c->t_rx > AM_T(c->d, AM_T_IDLE)) {
      am_info("%s: nothing received for %d s", c->remote_text, AM_T_IDLE / 1000);
      am_conn_goodbye(c, AM_BYE_IDLE, "nothing received for %d s", AM_T_IDLE / 1000);
    } else if (now - c->t_rx > AM_T(c->d, AM_T_PING) && !c->ping_out) {
      am_msg m = {.type = AM_MSG_PING, .token = ++c->ping_token};
      c->ping_out = true;
      c->ping_sent_at = now;
      am_conn_send(c, &m);
    } else if (c->ping_out && now - c->ping_sent_at > AM_T(c->d, AM_T_PING)) {
      c->ping_out = false; /* lost: try again later */
    }
    if (c->state == AM_CS_READY) am_repl_tick(c, now);
    break;
  case AM_CS_CLOSING:
    if (now - c->t_closing > AM_T(c->d, AM_T_GOODBYE)) am_conn_close(c, NULL);
    break;
  default:
    break;
  }
}
