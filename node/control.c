/* The control socket: DIR/control.sock, a Unix domain socket only the
 * node's owner can open (mode 0600, in a 0700 directory). The CLI sends one
 * JSON object per line and gets one JSON object per line back
 * (this comment is its whole description; scripts may use it too):
 *   {"cmd":"status"}                 node, uptime, listen address, peers, counters
 *   {"cmd":"notify"}                 the store changed: reload peers, send our
 *                                    new announcements to connected peers
 *   {"cmd":"reload"}                 as SIGHUP
 *   {"cmd":"invite-accept","code":C} connect with an invitation; the answer
 *                                    comes once the peer is connected or refused
 * Answers carry "ok": true, or "ok": false and "error": a sentence. A line
 * is at most 64 KiB; a client sends one request at a time. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/invite.h"
#include "node/daemon.h"
#include "node/log.h"
#include "store/announcements.h"
#include "store/peers.h"

#define CTL_LINE_MAX 65536

struct am_ctl_client {
  uv_pipe_t pipe;
  am_daemon *d;
  am_ctl_client *next, *prev;
  am_conn *conn; /* the connection whose outcome it waits for */
  bool closing;
  bool writing;  /* an answer is on its way: one at a time, and no reading
                    meanwhile, so a client that does not read costs one
                    answer of memory, not one per request */
  bool resume;   /* read and handle buffered lines at the next iteration */
  size_t len;
  char buf[CTL_LINE_MAX];
};

static void client_closed(uv_handle_t *h) {
  am_ctl_client *cl = h->data;
  am_daemon *d = cl->d;
  if (cl->prev) cl->prev->next = cl->next;
  else d->clients = cl->next;
  if (cl->next) cl->next->prev = cl->prev;
  free(cl);
}

static void client_close(am_ctl_client *cl) {
  if (cl->closing) return;
  cl->closing = true;
  if (cl->conn) {
    cl->conn->waiter = NULL;
    cl->conn = NULL;
  }
  uv_close((uv_handle_t *)&cl->pipe, client_closed);
}

typedef struct creq {
  uv_write_t req;
  am_ctl_client *cl;
  char *data;
} creq;

static void on_written(uv_write_t *req, int status) {
  creq *w = (creq *)req;
  am_ctl_client *cl = w->cl;
  free(w->data);
  free(w);
  (void)status;
  cl->writing = false;
  if (!cl->closing) {
    cl->resume = true;
    am_daemon_defer(cl->d);
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void handle_lines(am_ctl_client *cl);

/* Sends one answer line (takes j). A client whose answer cannot be sent
 * is dropped rather than left waiting. */
static void send_json(am_ctl_client *cl, json_t *j) {
  char *text = cl->closing || !j ? NULL : json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (cl->closing) return;
  creq *w = text ? malloc(sizeof *w) : NULL;
  if (w) {
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps's NUL becomes the line end */
    w->data = text;
    w->cl = cl;
    uv_buf_t b = uv_buf_init(text, (unsigned)(n + 1));
    if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, on_written) == 0) {
      cl->writing = true;
      uv_read_stop((uv_stream_t *)&cl->pipe);
      return;
    }
  }
  free(text);
  free(w);
  am_warn("control socket: cannot send an answer: client dropped");
  client_close(cl);
}

/* The answer of a request that waited (invite-accept). Nothing else runs
 * from here: the client resumes at the next loop iteration. */
void am_ctl_reply(am_ctl_client *cl, void *json) {
  cl->conn = NULL;
  send_json(cl, json);
}

void am_ctl_detach(am_ctl_client *cl) { cl->conn = NULL; }

void am_ctl_resume(am_daemon *d) {
  for (am_ctl_client *cl = d->clients; cl; cl = cl->next) {
    if (!cl->resume || cl->closing) continue;
    cl->resume = false;
    if (cl->writing || cl->conn) continue;
    uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
    handle_lines(cl);
  }
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
  /* A sentence cut inside a UTF-8 character is not a JSON string. */
  return r ? r : json_pack("{s:b, s:s}", "ok", 0, "error", "the request was refused");
}

/* dispatch's answer for a request answered later (am_ctl_reply). */
static json_t pending_answer;
#define PENDING (&pending_answer)

/* ---- requests ---- */

static json_t *peer_json(am_daemon *d, am_rpeer *p) {
  (void)d;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "key", p->key_text,
                        "name", p->name[0] ? p->name : (p->has_hello ? p->hello.name : ""),
                        "address", p->address, "state",
                        p->conn && p->conn->state == AM_CS_READY ? "connected"
                        : p->conn                               ? "connecting"
                                                                 : am_rpeer_state_name(p->state),
                        "bytes_in", (json_int_t)p->bytes_in, "bytes_out",
                        (json_int_t)p->bytes_out, "announcements_in", (json_int_t)p->ann_in,
                        "announcements_out", (json_int_t)p->ann_out);
  if (p->conn && p->conn->state == AM_CS_READY) {
    json_object_set_new(o, "connected_since", json_integer((json_int_t)p->connected_at));
    json_object_set_new(o, "direction", json_string(p->conn->initiator ? "outbound" : "inbound"));
    json_object_set_new(o, "remote", json_string(p->conn->remote_text));
    if (p->rtt_known) json_object_set_new(o, "rtt_ms", json_integer(p->rtt_ms));
  }
  if (p->last_seen) json_object_set_new(o, "last_seen", json_integer((json_int_t)p->last_seen));
  /* Replication (15): of the current connection; the last session ever. */
  bool live = p->conn && p->conn->state == AM_CS_READY && p->conn->repl;
  json_object_set_new(o, "sync", live ? json_string(am_sync_state_name(p->sync_state)) : json_null());
  if (p->last_sync) json_object_set_new(o, "last_sync", json_integer((json_int_t)p->last_sync));
  json_object_set_new(o, "announcements_refused", json_integer((json_int_t)p->ann_rejected));
  if (p->last_error[0]) {
    json_object_set_new(o, "last_error", json_string(p->last_error));
    json_object_set_new(o, "last_error_at", json_integer((json_int_t)p->last_error_at));
  }
  if (p->has_hello) json_object_set_new(o, "software", json_string(p->hello.software));
  /* Counted but not yet written to the store (peer list adds them). */
  json_object_set_new(o, "unsaved",
                      json_pack("{s:I, s:I, s:I, s:I, s:I}", "bytes_in", (json_int_t)p->d_bytes_in,
                                "bytes_out", (json_int_t)p->d_bytes_out, "announcements_in",
                                (json_int_t)p->d_ann_in, "announcements_out",
                                (json_int_t)p->d_ann_out, "connects", (json_int_t)p->d_connects));
  if (p->state == AM_PS_WAITING && !p->conn && !p->dialing) {
    uint64_t now = am_now_ms(d);
    json_object_set_new(o, "retry_in_s",
                        json_integer((json_int_t)(p->next_dial > now ? (p->next_dial - now + 999) / 1000 : 0)));
  }
  return o;
}

static json_t *status(am_daemon *d) {
  json_t *peers = json_array();
  size_t connected = 0;
  for (am_rpeer *p = d->peers; p; p = p->next) {
    if (p->transient) continue;
    json_array_append_new(peers, peer_json(d, p));
    if (p->conn && p->conn->state == AM_CS_READY) connected++;
  }
  json_t *counters = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "connections",
      (json_int_t)d->nconns, "handshakes_in_progress", (json_int_t)d->nhandshaking,
      "accepted", (json_int_t)d->count.accepted, "handshakes_ok",
      (json_int_t)d->count.handshakes_ok, "handshakes_failed",
      (json_int_t)d->count.handshakes_failed, "refused_rate_limit",
      (json_int_t)d->count.refused_rate, "refused_connection_limit",
      (json_int_t)d->count.refused_limit, "bytes_in", (json_int_t)d->count.bytes_in,
      "bytes_out", (json_int_t)d->count.bytes_out, "announcements_in",
      (json_int_t)d->count.ann_in, "announcements_out", (json_int_t)d->count.ann_out,
      "announcements_refused", (json_int_t)d->count.ann_rejected, "announcements_untrusted",
      (json_int_t)d->count.ann_untrusted, "expired_deleted", (json_int_t)d->count.pruned);
  return json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:o, s:o}", "ok", 1,
                   "key", d->key_text, "name", d->node.conf.name, "version", AMICALE_VERSION,
                   "pid", (json_int_t)getpid(), "started", (json_int_t)d->started, "listen",
                   d->listen_text, "uptime_s", (json_int_t)(am_wall() - d->started),
                   "peers_connected", (json_int_t)connected, "peers", peers, "counters",
                   counters);
}

static json_t *invite_accept(am_ctl_client *cl, const char *code) {
  am_daemon *d = cl->d;
  am_invite_code ic;
  am_error err = {0};
  int rc = am_invite_code_decode(code, &ic, &err);
  if (rc) return fail("%s", am_error_text(&err, rc));
  if (memcmp(ic.node_key, d->local.identity, 32) == 0) {
    am_invite_code_wipe(&ic);
    return fail("%s", "this invitation was made by this very node: give it to the other "
                      "node's administrator");
  }
  am_rpeer *p = am_rpeer_find(d, ic.node_key);
  if (p && p->blocked) {
    am_invite_code_wipe(&ic);
    return fail("%s", "that node is blocked here: `amicale peer unblock` it first");
  }
  if (p && p->conn && p->conn->state == AM_CS_READY) {
    am_invite_code_wipe(&ic);
    return fail("%s", "this node is already connected to that peer");
  }
  if (!p) {
    if (!(p = am_rpeer_ensure(d, ic.node_key))) {
      am_invite_code_wipe(&ic);
      return fail("%s", "out of memory");
    }
    p->transient = true;
  }
  /* A known peer keeps its stored address; the invitation's is used for
   * this connection only. */
  char address[AM_ADDR_TEXT_MAX + 1];
  am_addr_format(&ic.addr, address);
  if (p->transient) snprintf(p->address, sizeof p->address, "%s", address);
  if (p->dialing) am_conn_close(p->dialing, "replaced by an invitation");
  rc = am_conn_dial(d, p, address, ic.secret, cl);
  am_invite_code_wipe(&ic);
  if (rc) return fail("cannot connect to %s", address);
  cl->conn = p->dialing;
  am_info("accepting an invitation from %s (%s)", p->address, p->key_text);
  return PENDING; /* answered when the connection succeeds or fails */
}

static json_t *dispatch(am_ctl_client *cl, const char *line) {
  am_daemon *d = cl->d;
  json_error_t je;
  json_t *req = json_loads(line, 0, &je);
  if (!req || !json_is_object(req)) {
    json_decref(req);
    return fail("%s", "the request is not a JSON object");
  }
  const char *cmd = json_string_value(json_object_get(req, "cmd"));
  json_t *r;
  if (!cmd) {
    r = fail("%s", "the request has no \"cmd\"");
  } else if (strcmp(cmd, "status") == 0) {
    r = status(d);
  } else if (strcmp(cmd, "notify") == 0) {
    am_daemon_reload_peers(d);
    am_serve_recheck(d); /* a member's key revoked: their sessions end now */
    int n = am_daemon_notify(d);
    r = json_pack("{s:b, s:i}", "ok", 1, "sent", n < 0 ? 0 : n);
  } else if (strcmp(cmd, "reload") == 0) {
    am_daemon_reload(d);
    r = json_pack("{s:b}", "ok", 1);
  } else if (strcmp(cmd, "invite-accept") == 0) {
    const char *code = json_string_value(json_object_get(req, "code"));
    r = code ? invite_accept(cl, code) : fail("%s", "invite-accept needs a \"code\"");
  } else {
    r = fail("unknown command \"%.40s\"", cmd);
  }
  json_decref(req);
  return r;
}

/* Handles the first complete line, if any: one request at a time, the
 * next once its answer has gone out. */
static void handle_lines(am_ctl_client *cl) {
  if (cl->closing || cl->conn || cl->writing) return;
  char *nl = memchr(cl->buf, '\n', cl->len);
  if (!nl) return;
  *nl = 0;
  json_t *r = dispatch(cl, cl->buf);
  size_t used = (size_t)(nl - cl->buf) + 1;
  /* The line may have carried an invitation's secret: wipe it. */
  sodium_memzero(cl->buf, used);
  memmove(cl->buf, nl + 1, cl->len - used);
  sodium_memzero(cl->buf + cl->len - used, used);
  cl->len -= used;
  if (r == PENDING) uv_read_stop((uv_stream_t *)&cl->pipe);
  else send_json(cl, r ? r : fail("%s", "out of memory"));
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  am_ctl_client *cl = h->data;
  buf->base = cl->buf + cl->len;
  buf->len = sizeof cl->buf - cl->len;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  am_ctl_client *cl = s->data;
  if (n < 0) {
    client_close(cl);
    return;
  }
  cl->len += (size_t)n;
  handle_lines(cl);
  if (cl->len == sizeof cl->buf) {
    am_warn("control socket: a request line over %d bytes: client dropped", CTL_LINE_MAX);
    client_close(cl);
  }
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_client(uv_stream_t *server, int status) {
  am_daemon *d = server->data;
  if (status < 0) return;
  size_t n = 0;
  for (am_ctl_client *c = d->clients; c; c = c->next) n++;
  am_ctl_client *cl = n < AM_CTL_CLIENTS_MAX ? calloc(1, sizeof *cl) : NULL;
  if (!cl) {
    /* Accept and close at once, or libuv would keep announcing it. */
    uv_pipe_t *p = malloc(sizeof *p);
    if (p && uv_pipe_init(d->loop, p, 0) == 0) {
      if (uv_accept(server, (uv_stream_t *)p) == 0)
        am_warn("control socket: more than %d clients at once: one refused", AM_CTL_CLIENTS_MAX);
      uv_close((uv_handle_t *)p, free_handle);
    } else {
      free(p);
    }
    return;
  }
  cl->d = d;
  uv_pipe_init(d->loop, &cl->pipe, 0);
  cl->pipe.data = cl;
  cl->next = d->clients;
  if (d->clients) d->clients->prev = cl;
  d->clients = cl;
  if (uv_accept(server, (uv_stream_t *)&cl->pipe) ||
      uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read))
    client_close(cl);
}

static void on_server_closed(uv_handle_t *h) { (void)h; }

int am_control_start(am_daemon *d, am_error *err) {
  snprintf(d->control_path, sizeof d->control_path, "%s/control.sock", d->node.dir);
  if (strlen(d->control_path) >= 100) /* sun_path is 108 bytes on Linux */
    return am_fail(err, AM_EINVAL,
                   "the data directory path is too long for a control socket (%s): use a "
                   "shorter --dir", d->control_path);
  /* We hold the daemon lock, so a socket file left here is stale. */
  unlink(d->control_path);
  uv_pipe_init(d->loop, &d->control, 0);
  d->control.data = d;
  d->control_open = true;
  mode_t old = umask(0077);
  int rc = uv_pipe_bind(&d->control, d->control_path);
  umask(old);
  if (!rc) rc = chmod(d->control_path, 0600) ? uv_translate_sys_error(errno) : 0;
  if (!rc) rc = uv_listen((uv_stream_t *)&d->control, 16, on_client);
  if (rc)
    return am_fail(err, AM_EIO, "cannot open the control socket %s: %s", d->control_path,
                   uv_strerror(rc));
  return 0;
}

void am_control_stop(am_daemon *d) {
  if (d->control_open) {
    uv_close((uv_handle_t *)&d->control, on_server_closed);
    d->control_open = false;
    unlink(d->control_path);
  }
  for (am_ctl_client *cl = d->clients; cl; cl = cl->next) client_close(cl);
}
