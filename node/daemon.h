/* amicaled's state, shared by the files of node/ (the only owner of the
 * event loop). daemon.c: start, stop, signals, the one-second tick, the
 * peer list and dialling; conn.c: one TCP connection from accept/connect to
 * close (handshake, frames, session messages); control.c: the control
 * socket through which the CLI talks to the daemon.
 *
 * Ownership follows libuv's rule: a struct holding a handle is freed only
 * in the close callback of its last handle. */
#ifndef AMICALE_NODE_DAEMON_H
#define AMICALE_NODE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "crypto/channel.h"
#include "crypto/handshake.h"
#include "proto/session.h"
#include "proto/address.h"
#include "store/datadir.h"
#include "node/idset.h"

/* Timeouts and limits of docs/PROTOCOL.md 14.8 (milliseconds, bytes). */
#define AM_T_HANDSHAKE 10000
#define AM_T_CONNECT_ATTEMPT 3000 /* per address, when the name has more */
#define AM_T_HELLO 10000
#define AM_T_PING 30000
#define AM_T_IDLE 90000
#define AM_T_GOODBYE 5000
#define AM_T_STALL 60000 /* output waiting with no progress: the peer is too slow */
#define AM_WRITE_QUEUE_MAX (4u << 20)
#define AM_HANDSHAKES_MAX 64 /* inbound handshakes at once */
#define AM_DIALS_MAX 64      /* outbound attempts at once */
#define AM_CTL_CLIENTS_MAX 32
#define AM_RATE_BURST 10
#define AM_RATE_PER_S 1
#define AM_BACKOFF_MIN 1000
#define AM_BACKOFF_MAX 300000
#define AM_BACKOFF_RESET 60000 /* a connection that lasted this long resets it */
#define AM_STATS_FLUSH 10000
#define AM_INVITE_TIMEOUT 20000 /* an `invite accept` answer, at most */
#define AM_T_SYNC 60000  /* reconciliation with each peer, at least this often */
#define AM_T_PRUNE 60000 /* expired events and jobs deleted */
#define AM_T_SESSION 300000 /* a reconciliation session silent this long is given up */
#define AM_T_WANT 60000     /* a want with no answer this long: the peer is too slow */
#define AM_FETCHING_MAX (1u << 19) /* ids being fetched, all peers together */
#define AM_REFUSED_MAX 65536       /* refused ids remembered (then forgotten) */

/* A timeout above, scaled by $AMICALE_TIMEOUT_SCALE (a factor, default 1;
 * the handshake rate refills faster by the same factor;
 * tests use 0.05 to see a 90-second idle timeout in under five seconds, as
 * libuv's test runner scales its own). */
#define AM_T(d, ms) ((uint64_t)((double)(ms) * (d)->tscale))

typedef struct am_daemon am_daemon;
typedef struct am_conn am_conn;
typedef struct am_ctl_client am_ctl_client;
typedef struct am_repl am_repl;

/* Replication state with a peer, for status. */
enum { AM_SS_NONE, AM_SS_IN_SYNC, AM_SS_SYNCING, AM_SS_BEHIND };
const char *am_sync_state_name(int s);

enum am_peer_state {
  AM_PS_IDLE,        /* no address, waiting for it to call */
  AM_PS_WAITING,     /* backing off before the next attempt */
  AM_PS_CONNECTING,  /* resolving / TCP connect / handshake */
  AM_PS_CONNECTED,   /* session up */
  AM_PS_BLOCKED,
};
const char *am_rpeer_state_name(int s);

/* A peer as the daemon sees it: the store's record plus live state. */
typedef struct am_rpeer {
  uint8_t key[32];
  char key_text[44];
  char name[AM_NAME_MAX + 1];
  char address[AM_ADDR_TEXT_MAX + 1]; /* "" when we never dial it */
  bool blocked;
  bool seen_in_store; /* reload mark */
  bool transient;     /* an invitation being accepted: not a peer yet */
  int state;
  am_conn *conn;     /* the established connection, or NULL */
  am_conn *dialing;  /* our outbound attempt in progress, or NULL */
  uint64_t next_dial;  /* loop time (ms) */
  uint64_t backoff;    /* current delay (ms) */
  uint64_t connected_at, last_seen; /* wall clock (s) */
  char last_error[200];
  uint64_t last_error_at;
  bool error_unsaved;
  /* Counters since start, and the part not yet written to the store. */
  uint64_t bytes_in, bytes_out, ann_in, ann_out, ann_rejected;
  int sync_state;     /* AM_SS_*: of the current connection */
  uint64_t last_sync; /* wall clock (s) of the last reconciliation */
  uint64_t d_bytes_in, d_bytes_out, d_ann_in, d_ann_out, d_connects;
  bool dirty;
  uint32_t rtt_ms;
  bool rtt_known;
  am_hello hello; /* the last hello it sent */
  bool has_hello;
  struct am_rpeer *next;
} am_rpeer;

/* Per remote address handshake budget (token bucket). */
typedef struct am_rate {
  uint8_t addr[16];
  double tokens;
  uint64_t at; /* loop time of the last refill */
} am_rate;
#define AM_RATE_SLOTS 1024

/* Per member request budget (section 16.6). */
#define AM_MRATE_BURST 30
#define AM_MRATE_PER_S 10
#define AM_MRATE_SLOTS 256
typedef struct am_mrate {
  uint64_t member;
  bool used;
  double tokens;
  uint64_t at; /* loop time of the last refill */
} am_mrate;

struct am_daemon {
  uv_loop_t *loop;
  am_node node; /* dir, config, identity, store */
  am_hs_local local;
  char key_text[44];
  uint64_t started;      /* wall clock (s) */
  uint64_t started_loop; /* loop time (ms) */

  am_addr listen_addr; /* [network] listen, or --listen */
  uv_tcp_t listener;
  bool listening;
  char listen_text[300];
  uv_pipe_t control;
  bool control_open;
  char control_path[4200];
  int lock_fd;
  uv_signal_t sig_term, sig_int, sig_hup;
  uv_timer_t tick;
  /* Work deferred to the next loop iteration, never done inside the
   * callback that asked for it: freeing connections that hold no handle,
   * and resuming control clients whose answer just went out. */
  uv_idle_t later;
  bool later_started;

  am_rpeer *peers;
  am_conn *conns;
  am_ctl_client *clients;
  size_t nconns, nhandshaking, ndialing;
  size_t max_connections;
  am_rate rates[AM_RATE_SLOTS];
  am_mrate mrates[AM_MRATE_SLOTS];

  double tscale; /* AMICALE_TIMEOUT_SCALE */
  uint64_t own_version_pushed; /* announcements of ours up to this were pushed */
  /* Replication (replicate.c): ids being fetched from some peer, ids
   * refused lately (untrusted origin), announcements read and not yet
   * stored, and whether offers wait to be sent. */
  am_idset fetching, refused, refused_old;
  uint64_t trust_hash; /* of the trust list: refused ids are forgotten when it changes */
  am_buf inbox;
  am_conn *inbox_conn; /* whose announcements the inbox holds */
  void *inbox_items;
  size_t inbox_n, inbox_cap;
  bool push_pending;
  uint64_t last_prune;
  uint64_t last_flush;
  uint64_t last_tick; /* loop time of the previous tick */
  bool stopping;
  uint64_t stop_deadline;
  int exit_code;

  struct {
    uint64_t requests, clients;
    uint64_t accepted, refused_rate, refused_limit, handshakes_ok, handshakes_failed,
        bytes_in, bytes_out, ann_in, ann_out, ann_rejected, ann_untrusted, pruned;
  } count;

  uint8_t readbuf[65536 + 2]; /* every read lands here first */
};

enum am_conn_state {
  AM_CS_RESOLVING,
  AM_CS_CONNECTING,
  AM_CS_HANDSHAKE,
  AM_CS_HELLO,   /* handshake done, waiting for the peer's hello */
  AM_CS_READY,
  AM_CS_CLOSING, /* goodbye sent or connection refused: draining, then close */
  AM_CS_CLOSED,  /* uv_close called */
};

struct am_conn {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_getaddrinfo_t gai;
  am_daemon *d;
  am_conn *next, *prev;
  int state;
  bool initiator;
  bool tcp_open;   /* tcp initialised: must be closed */
  bool resolving;  /* uv_getaddrinfo pending: it frees a closed conn */
  bool reopening;  /* tcp closing to try the next address: its close
                      callback frees a conn closed meanwhile */
  struct addrinfo *ai, *ai_next; /* the resolved addresses, the next to try */
  bool dead;       /* closed, no handle left: freed by the deferred work */
  bool dial_counted; /* counted in d->ndialing */
  bool hs_counted; /* counted in d->nhandshaking */
  am_rpeer *peer;  /* known once authenticated (or when dialing) */
  char remote_text[AM_ADDR_TEXT_MAX + 1];
  uint8_t remote_ip[16];
  am_hs *hs;       /* during the handshake only */
  am_chan chan;
  bool chan_open;
  /* Bytes of a frame not complete yet (heap, only while one is pending). */
  uint8_t *partial;
  size_t partial_len, partial_cap;
  size_t queued;   /* bytes not written to the socket yet (wlen + wbuf.len) */
  uv_write_t wreq; /* the write in flight, if writing */
  bool writing;
  char *wdata;
  size_t wlen;
  am_buf wbuf;     /* to send after the write in flight */
  uint64_t t_start, t_rx, t_ping, t_closing; /* loop times (ms) */
  uint64_t t_wprogress;  /* the last time output moved (or was idle) */
  uint64_t t_attempt;    /* when the current address was dialled */
  size_t wq_seen;        /* libuv's write queue size at that time */
  uint64_t ping_token, ping_sent_at;
  bool ping_out;
  uint64_t bytes_in, bytes_out;
  /* `invite accept` in progress through this connection. */
  bool inviting;
  uint8_t invite_secret[16];
  am_ctl_client *waiter;
  char fail_text[600];
  am_repl *repl; /* replication, once the hello says the peer does it */
  /* A member's client (section 16): no peer, never replicated with. */
  bool client;
  uint64_t member_id;
  uint8_t member_key[32];
};

/* daemon.c */
uint64_t am_now_ms(am_daemon *d);
uint64_t am_wall(void);
am_rpeer *am_rpeer_find(am_daemon *d, const uint8_t key[static 32]);
am_rpeer *am_rpeer_ensure(am_daemon *d, const uint8_t key[static 32]);
void am_rpeer_error(am_rpeer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void am_daemon_reload(am_daemon *d);
void am_daemon_reload_peers(am_daemon *d);
/* An invitation we accepted worked: p becomes a stored, trusted peer. */
int am_daemon_adopt(am_daemon *d, am_rpeer *p, am_error *err);
/* p has no name yet: its hello's name is recorded (peer and trust lists). */
void am_daemon_name_peer(am_daemon *d, am_rpeer *p);
int am_daemon_notify(am_daemon *d); /* push new own announcements; returns count */
void am_daemon_stop(am_daemon *d, int code);
void am_daemon_flush_stats(am_daemon *d);
/* Runs the deferred work (see `later`) at the next loop iteration. */
void am_daemon_defer(am_daemon *d);
void am_conn_reap(am_daemon *d); /* conn.c: frees dead connections */
void am_rpeer_schedule(am_daemon *d, am_rpeer *p, bool failed);
bool am_rate_allow(am_daemon *d, const uint8_t addr[static 16]);

/* conn.c */
am_conn *am_conn_new(am_daemon *d, bool initiator);
/* Dials p at address (NULL: p->address), with an invitation when
 * invite_secret is not NULL (waiter then gets the outcome). */
int am_conn_dial(am_daemon *d, am_rpeer *p, const char *address,
                 const uint8_t *invite_secret, am_ctl_client *waiter);
/* "a.b.c.d:port" or "[v6]:port" ("?" for another family), and the IP as
 * 16 bytes (IPv4 as ::ffff:a.b.c.d) when ip16 is not NULL. */
void am_sockaddr_text(const struct sockaddr_storage *ss, char *text, size_t n,
                      uint8_t ip16[16]);
/* Fills c->remote_text and c->remote_ip (IPv4 as ::ffff:a.b.c.d) from the
 * socket's peer address. */
void am_conn_describe(am_conn *c);
void am_conn_accepted(am_conn *c); /* c described, limits passed: handshake */
void am_conn_tick(am_conn *c, uint64_t now);
int am_conn_send(am_conn *c, const am_msg *m);
void am_conn_goodbye(am_conn *c, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void am_conn_close(am_conn *c, const char *why);

/* replicate.c */
int am_repl_start(am_conn *c);   /* the peer's hello has "replicate" */
void am_repl_detach(am_conn *c); /* leaving READY: its fetches are released */
void am_repl_free(am_conn *c);
bool am_repl_message(am_conn *c, const am_msg *m); /* false: not ours */
void am_repl_pump(am_conn *c);   /* room in the write queue */
void am_repl_tick(am_conn *c, uint64_t now);
void am_repl_begin(am_conn *c);  /* a reconciliation session */
void am_repl_resync(am_daemon *d); /* sessions due now with every peer */
/* An announcement read from c: kept until am_repl_flush_inbox stores the
 * batch in one transaction (after a short read, at AM_INBOX_BATCH, when c
 * closes, when another connection's arrives, or in the deferred work). */
int am_repl_take(am_conn *c, const uint8_t *env, size_t len);
void am_repl_read_done(am_conn *c, bool full);
void am_repl_flush_inbox(am_daemon *d);
/* Offers a new announcement to every replicating peer but `from`. */
void am_repl_offer_all(am_daemon *d, const uint8_t id[static 32], const am_conn *from);
void am_repl_flush_offers(am_daemon *d); /* deferred work */
/* daemon.c: deletes expired content (at most once a second: every
 * session start asks for it). */
void am_daemon_prune(am_daemon *d);
void am_daemon_check_trust(am_daemon *d); /* forgets refusals if the trust list changed */

/* serve.c: members' clients (docs/PROTOCOL.md section 16). */
/* Responder, after message 3, for a key that is not a peer: 1 when it is
 * a member's key (or a valid login proof registered it): c->client set;
 * -1 when refused (a goodbye went out); 0 when it is none of this. */
int am_serve_admit(am_conn *c, const uint8_t key[static 32]);
void am_serve_hello(am_conn *c, const am_msg *m);   /* a client's hello */
void am_serve_message(am_conn *c, const am_msg *m); /* a client's message after it */
/* After a store change (control "notify"): client sessions whose key was
 * revoked or deleted are closed with goodbye `revoked`. */
void am_serve_recheck(am_daemon *d);

/* control.c */
int am_control_start(am_daemon *d, am_error *err);
void am_control_stop(am_daemon *d);
void am_ctl_reply(am_ctl_client *cl, void *json); /* takes the json_t */
void am_ctl_detach(am_ctl_client *cl);            /* the waiting conn is gone */
void am_ctl_resume(am_daemon *d);                 /* deferred: clients answered */

#endif
