/* Members' clients (docs/PROTOCOL.md section 16): admission of a member's
 * key after the handshake (or its registration with a login code), the
 * client's hello, and its requests, each answered by the operations of
 * store/api.h as that member sees them.
 *
 * Every request re-reads the member's key in the same transaction as the
 * operation, so a revocation holds from the next request even before the
 * control socket's notify closes the session (am_serve_recheck). Requests
 * run on the loop thread, one at a time and in order (the protocol says
 * answers come in order): a request costs what the same query costs the
 * local CLI, bounded by the api's page sizes and by the per-key budget
 * below. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "node/daemon.h"
#include "node/log.h"
#include "store/accounts.h"
#include "store/api.h"
#include "store/members.h"
#include "store/peers.h"
#include "store/datadir.h"

/* ---- admission ---- */

typedef struct admit_arg {
  const uint8_t *key, *proof, *h;
  int64_t now;
  bool found, gone, is_login;
  am_mkey k;
  uint64_t member_id;
  int refusal;
  am_error err;
} admit_arg;

static int member_gone(am_txn *t, uint64_t id, bool *gone, am_error *err) {
  am_member m;
  int rc = am_members_get(t, id, &m, err);
  *gone = rc == AM_ENOTFOUND;
  if (!rc) am_member_free(&m);
  return rc == AM_ENOTFOUND ? 0 : rc;
}

static int lookup_txn(am_txn *t, void *arg) {
  admit_arg *a = arg;
  int rc = am_accounts_key_get(t, a->key, &a->k);
  if (rc == AM_ENOTFOUND) {
    a->found = false;
    a->is_login = a->proof && am_accounts_is_login(t, a->proof);
    return 0;
  }
  if (rc) return am_fail(&a->err, rc, "cannot read the member keys");
  a->found = true;
  return member_gone(t, a->k.member_id, &a->gone, &a->err);
}

static int touch_txn(am_txn *t, void *arg) {
  admit_arg *a = arg;
  return am_accounts_key_touch(t, a->key, a->now, &a->err);
}

static int redeem_txn(am_txn *t, void *arg) {
  admit_arg *a = arg;
  return am_accounts_redeem(t, a->proof, a->h, a->key, a->now, &a->member_id, &a->refusal,
                            &a->err);
}

static void become_client(am_conn *c, const uint8_t key[static 32], uint64_t member_id) {
  c->client = true;
  c->member_id = member_id;
  memcpy(c->member_key, key, 32);
  c->d->count.clients++;
}

int am_serve_admit(am_conn *c, const uint8_t key[static 32]) {
  am_daemon *d = c->d;
  char kt[44];
  am_pubkey_to_text(key, kt);
  const uint8_t *proof = NULL, *h = NULL;
  if (!am_hs_invitation(c->hs, &proof, &h)) proof = h = NULL;
  admit_arg a = {.key = key, .proof = proof, .h = h, .now = (int64_t)am_wall()};
  am_error err = {0};
  int rc = am_store_read(d->node.store, lookup_txn, &a, &err);
  if (rc) {
    if (a.err.msg[0]) err = a.err;
    am_warn("%s: cannot check %s against the member keys: %s", c->remote_text, kt,
            am_error_text(&err, rc));
    am_conn_goodbye(c, AM_BYE_OVERLOADED, "this node cannot read its store just now");
    return -1;
  }
  if (a.found) {
    if (a.k.revoked || a.gone) {
      am_info("%s: refused member %llu's key %s: %s", c->remote_text,
              (unsigned long long)a.k.member_id, kt, a.gone ? "the member was removed" : "revoked");
      am_conn_goodbye(c, AM_BYE_REVOKED, "%s",
                      a.gone ? "you are no longer in this node's directory"
                             : "this key was revoked by your alumni manager: ask them for a new "
                               "login code");
      return -1;
    }
    /* "last used" to the minute: no write for every connection. */
    if (a.now - a.k.last_used >= 60 && (rc = am_store_write(d->node.store, touch_txn, &a, &err)))
      am_warn("cannot record the use of member %llu's key: %s",
              (unsigned long long)a.k.member_id, am_error_text(&err, rc));
    become_client(c, key, a.k.member_id);
    return 1;
  }
  if (!a.is_login) return 0; /* a node, perhaps with a node invitation */
  rc = am_store_write(d->node.store, redeem_txn, &a, &err);
  if (rc) {
    if (a.err.msg[0]) err = a.err;
    am_warn("%s: refused %s: login code: %s", c->remote_text, kt, am_error_text(&err, rc));
    am_conn_goodbye(c, AM_BYE_INVITATION, "%s", am_error_text(&err, rc));
    return -1;
  }
  am_info("%s: member %llu logged in with a login code; key %s registered", c->remote_text,
          (unsigned long long)a.member_id, kt);
  become_client(c, key, a.member_id);
  return 1;
}

/* ---- session ---- */

void am_serve_hello(am_conn *c, const am_msg *m) {
  if (!am_hello_has_cap(&m->hello, AM_CAP_CLIENT)) {
    am_warn("%s: member %llu's hello does not list \"%s\"", c->remote_text,
            (unsigned long long)c->member_id, AM_CAP_CLIENT);
    am_conn_goodbye(c, AM_BYE_PROTOCOL, "a member's key opens client sessions only: list "
                                        "\"%s\" in the hello", AM_CAP_CLIENT);
    return;
  }
  c->state = AM_CS_READY;
  c->chan.limit = AM_MSG_MAX;
  am_debug("%s: member %llu connected (%s)", c->remote_text, (unsigned long long)c->member_id,
           m->hello.software);
}

/* The member's bucket (all their keys share it, so that more keys do not
 * buy more requests): burst AM_MRATE_BURST, then AM_MRATE_PER_S a second.
 * A fixed table, so memory does not grow with the members seen: a member
 * whose slot is taken reuses the slot (or a neighbour) whose bucket has
 * refilled the most, and inherits what that bucket holds — a member can
 * therefore never get a fresh budget by crowding the table; at worst two
 * members share a budget for a while. */
static bool mrate_allow(am_daemon *d, uint64_t member) {
  uint64_t now = am_now_ms(d);
  uint64_t mix = member * UINT64_C(0x9E3779B97F4A7C15);
  size_t h = (size_t)(mix >> 56) % AM_MRATE_SLOTS, pick = h;
  double best = -1;
  am_mrate *r = NULL;
  for (size_t i = 0; i < 4; i++) {
    am_mrate *s = &d->mrates[(h + i) % AM_MRATE_SLOTS];
    if (s->used && s->member == member) {
      r = s;
      break;
    }
    double full = !s->used ? AM_MRATE_BURST
                           : s->tokens + (double)(now - s->at) / 1000.0 * AM_MRATE_PER_S;
    if (full > best) best = full, pick = (h + i) % AM_MRATE_SLOTS;
  }
  if (!r) {
    r = &d->mrates[pick];
    r->member = member;
    r->tokens = best > AM_MRATE_BURST ? AM_MRATE_BURST : best;
    r->used = true;
    r->at = now;
  }
  r->tokens += (double)(now - r->at) / 1000.0 * AM_MRATE_PER_S;
  if (r->tokens > AM_MRATE_BURST) r->tokens = AM_MRATE_BURST;
  r->at = now;
  if (r->tokens < 1) return false;
  r->tokens -= 1;
  return true;
}

static void respond(am_conn *c, uint64_t id, int status, const char *json, size_t len) {
  am_msg r = {.type = AM_MSG_RESPONSE, .token = id, .code = (uint64_t)status,
              .data = (const uint8_t *)json, .data_len = len};
  am_conn_send(c, &r);
}

static void respond_error(am_conn *c, uint64_t id, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void respond_error(am_conn *c, uint64_t id, int status, const char *fmt, ...) {
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  json_t *o = json_pack("{s:s}", "error", text);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (s) respond(c, id, status, s, strlen(s));
  else respond(c, id, status, "{}", 2);
  free(s);
}

typedef struct req_arg {
  am_conn *c;
  const char *method;
  const json_t *params;
  json_t *result;
  bool revoked;
  am_error err;
} req_arg;

static int req_txn(am_txn *t, void *arg) {
  req_arg *r = arg;
  am_conn *c = r->c;
  am_daemon *d = c->d;
  if (r->result) json_decref(r->result), r->result = NULL; /* a write run again */
  am_mkey k;
  int rc = am_accounts_key_get(t, c->member_key, &k);
  if (rc == AM_ENOTFOUND || (!rc && (k.revoked || k.member_id != c->member_id))) {
    r->revoked = true;
    return AM_ENOTFOUND;
  }
  if (rc) return am_fail(&r->err, rc, "cannot read the member keys");
  am_caller caller = {.viewer = AM_VIEWER_MEMBER, .member_id = c->member_id,
                      .node_name = d->node.conf.name, .node_kind = d->node.conf.kind};
  memcpy(caller.node_key, d->local.identity, sizeof caller.node_key);
  return am_api_call(t, &caller, r->method, r->params, (int64_t)am_wall(), &r->result, &r->err);
}

/* "whoami" (section 16.4): answered by the node itself, whatever methods
 * the api has: who the key belongs to, and where. */
typedef struct whoami_arg {
  am_conn *c;
  json_t *result;
  bool revoked;
  am_error err;
} whoami_arg;

static int whoami_txn(am_txn *t, void *arg) {
  whoami_arg *w = arg;
  am_conn *c = w->c;
  am_daemon *d = c->d;
  am_mkey k;
  int rc = am_accounts_key_get(t, c->member_key, &k);
  if (rc == AM_ENOTFOUND || (!rc && k.revoked)) {
    w->revoked = true;
    return AM_ENOTFOUND;
  }
  if (rc) return am_fail(&w->err, rc, "cannot read the member keys");
  am_member m;
  if ((rc = am_members_get(t, c->member_id, &m, &w->err))) {
    if (rc == AM_ENOTFOUND) w->revoked = true;
    return rc;
  }
  am_buf name = {0};
  am_member_display_name(&m, &name);
  am_member_free(&m);
  char kt[44];
  am_pubkey_to_text(d->local.identity, kt);
  w->result = json_pack("{s:I, s:s%, s:{s:s, s:s, s:s}}", "member", (json_int_t)c->member_id,
                        "name", name.data ? name.data : "", name.len, "institution", "key", kt,
                        "name", d->node.conf.name, "kind", am_kind_name(d->node.conf.kind));
  am_buf_free(&name);
  return w->result ? 0 : am_fail(&w->err, AM_ENOMEM, "out of memory");
}

static void respond_json(am_conn *c, uint64_t id, json_t *result);

static void on_whoami(am_conn *c, uint64_t id) {
  whoami_arg w = {.c = c};
  am_error err = {0};
  int rc = am_store_read(c->d->node.store, whoami_txn, &w, &err);
  if (w.revoked) {
    json_decref(w.result);
    am_conn_goodbye(c, AM_BYE_REVOKED, "this key was revoked by your alumni manager");
    return;
  }
  if (rc) {
    if (w.err.msg[0]) err = w.err;
    json_decref(w.result);
    respond_error(c, id, AM_ST_INTERNAL, "the node could not answer: %s", am_error_text(&err, rc));
    return;
  }
  respond_json(c, id, w.result);
}

static void respond_json(am_conn *c, uint64_t id, json_t *result) {
  char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  json_decref(result);
  if (!text) {
    respond_error(c, id, AM_ST_INTERNAL, "out of memory");
    return;
  }
  size_t len = strlen(text);
  if (len > AM_JSON_TEXT_MAX)
    respond_error(c, id, AM_ST_BAD_REQUEST, "the answer is over 1 MiB: narrow the query "
                  "(--limit)");
  else
    respond(c, id, AM_ST_OK, text, len);
  free(text);
}

static void on_request(am_conn *c, const am_msg *m) {
  am_daemon *d = c->d;
  uint64_t id = m->token;
  d->count.requests++;
  if (!mrate_allow(d, c->member_id)) {
    respond_error(c, id, AM_ST_RATE_LIMITED, "too many requests: at most %d a second (bursts "
                  "of %d); try again in a moment", AM_MRATE_PER_S, AM_MRATE_BURST);
    return;
  }
  const char *method = m->text;
  json_error_t je;
  json_t *params = m->data_len ? json_loadb((const char *)m->data, m->data_len,
                                            JSON_REJECT_DUPLICATES, &je)
                               : json_object();
  if (!params || !json_is_object(params)) {
    json_decref(params);
    respond_error(c, id, AM_ST_BAD_REQUEST, "the params of a request must be a JSON object "
                  "(each member named once)");
    return;
  }
  if (!strcmp(method, AM_METHOD_WHOAMI)) {
    size_t n = json_object_size(params);
    json_decref(params);
    if (n) respond_error(c, id, AM_ST_BAD_REQUEST, "whoami takes no parameters");
    else on_whoami(c, id);
    return;
  }
  if (!am_api_known(method)) {
    json_decref(params);
    respond_error(c, id, AM_ST_UNKNOWN_METHOD, "this node does not know the method \"%s\" "
                  "(it may run an older version of Amicale)", method);
    return;
  }
  if (!am_api_for_members(method)) {
    json_decref(params);
    respond_error(c, id, AM_ST_FORBIDDEN, "\"%s\" is for the node's alumni manager, not for "
                  "members", method);
    return;
  }
  bool writes = am_api_writes(method);
  req_arg r = {.c = c, .method = method, .params = params};
  am_error err = {0};
  uint64_t t0 = uv_hrtime();
  int rc = writes ? am_store_write(d->node.store, req_txn, &r, &err)
                  : am_store_read(d->node.store, req_txn, &r, &err);
  json_decref(params);
  if (rc && r.err.msg[0]) err = r.err;
  if (r.revoked) {
    json_decref(r.result);
    am_info("%s: member %llu's key is no longer valid: session closed", c->remote_text,
            (unsigned long long)c->member_id);
    am_conn_goodbye(c, AM_BYE_REVOKED, "this key was revoked by your alumni manager");
    return;
  }
  am_debug("%s: member %llu: %s: %s (%.2f ms)", c->remote_text, (unsigned long long)c->member_id,
           method, rc ? am_error_text(&err, rc) : "ok", (double)(uv_hrtime() - t0) / 1e6);
  if (rc) {
    json_decref(r.result);
    int status = rc == AM_EUSAGE || rc == AM_EINVAL ? AM_ST_BAD_REQUEST
                 : rc == AM_ENOTFOUND            ? AM_ST_NOT_FOUND
                                                 : AM_ST_INTERNAL;
    if (status == AM_ST_INTERNAL) {
      am_warn("%s: member %llu: %s failed: %s", c->remote_text, (unsigned long long)c->member_id,
              method, am_error_text(&err, rc));
      respond_error(c, id, status, "the node could not answer: %s", am_error_text(&err, rc));
    } else {
      respond_error(c, id, status, "%s", am_error_text(&err, rc));
    }
    return;
  }
  respond_json(c, id, r.result);
  /* An edit or an erasure changed the member's profile announcement: the
   * peers get it now, as after the CLI's own changes. */
  if (writes) am_daemon_notify(d);
}

void am_serve_message(am_conn *c, const am_msg *m) {
  switch (m->type) {
  case AM_MSG_REQUEST:
    on_request(c, m);
    return;
  case AM_MSG_PING: {
    am_msg pong = {.type = AM_MSG_PONG, .token = m->token};
    am_conn_send(c, &pong);
    return;
  }
  case AM_MSG_PONG:
    if (c->ping_out && m->token == c->ping_token) c->ping_out = false;
    return;
  case AM_MSG_GOODBYE: {
    const char *name = am_bye_name(m->code);
    am_debug("%s: member %llu said goodbye (%s)", c->remote_text,
             (unsigned long long)c->member_id, name ? name : "unknown reason");
    am_conn_close(c, NULL);
    return;
  }
  case AM_MSG_ERROR:
    am_info("%s: member %llu's client reports error %llu", c->remote_text,
            (unsigned long long)c->member_id, (unsigned long long)m->code);
    return;
  case AM_MSG_HELLO:
    am_conn_goodbye(c, AM_BYE_PROTOCOL, "hello sent twice");
    return;
  default:
    if (m->type >= AM_MSG__KNOWN) {
      am_msg e = {.type = AM_MSG_ERROR, .code = AM_MSGERR_UNKNOWN_MESSAGE};
      snprintf(e.text, sizeof e.text, "message type %llu is unknown here",
               (unsigned long long)m->type);
      am_conn_send(c, &e);
      return;
    }
    am_warn("%s: member %llu's client sent %s: protocol error", c->remote_text,
            (unsigned long long)c->member_id, am_msg_type_name(m->type));
    am_conn_goodbye(c, AM_BYE_PROTOCOL, "a client session carries no %s",
                    am_msg_type_name(m->type));
    return;
  }
}

/* ---- revocation ---- */

typedef struct recheck_arg {
  am_daemon *d;
  am_conn *bad[64];
  size_t nbad;
  bool more;
} recheck_arg;

static int recheck_txn(am_txn *t, void *arg) {
  recheck_arg *a = arg;
  a->nbad = 0;
  a->more = false;
  for (am_conn *c = a->d->conns; c; c = c->next) {
    if (!c->client || (c->state != AM_CS_HELLO && c->state != AM_CS_READY)) continue;
    am_mkey k;
    int rc = am_accounts_key_get(t, c->member_key, &k);
    bool gone = false;
    if (!rc && !k.revoked) {
      am_error err = {0};
      if ((rc = member_gone(t, c->member_id, &gone, &err))) return rc;
      if (!gone) continue;
    } else if (rc && rc != AM_ENOTFOUND) {
      return rc;
    }
    if (a->nbad == sizeof a->bad / sizeof *a->bad) {
      a->more = true;
      break;
    }
    a->bad[a->nbad++] = c;
  }
  return 0;
}

void am_serve_recheck(am_daemon *d) {
  recheck_arg a = {.d = d};
  do {
    am_error err = {0};
    int rc = am_store_read(d->node.store, recheck_txn, &a, &err);
    if (rc) {
      am_warn("cannot re-check members' sessions: %s", am_error_text(&err, rc));
      return;
    }
    for (size_t i = 0; i < a.nbad; i++) {
      am_conn *c = a.bad[i];
      am_info("%s: member %llu's key was revoked (or the member removed): session closed",
              c->remote_text, (unsigned long long)c->member_id);
      am_conn_goodbye(c, AM_BYE_REVOKED, "this key was revoked by your alumni manager");
    }
  } while (a.more);
}
