/* bench_member_rtt: the round trip of a member's remote query (PROTOCOL.md
 * section 16), beside same-run baselines.
 *
 *   build/bench/bench_member_rtt build/amicaled [requests=2000] [connections=300]
 *
 * A node with 64 members is created, a key registered for each
 * (store/accounts.h, with proofs made here: no CLI), amicaled started; then
 *   1. ping/pong on an open client session (the transport alone);
 *   2. "me.show" on an open session (what a request adds: decoding, a read
 *      transaction, the api, the JSON answer);
 *   3. connect + handshake + hello + "me.show" + goodbye, as each `amicale`
 *      command in member mode does;
 *   4. baseline: the same "me.show" through am_api_call in this process, one
 *      read transaction each, as the node runs it.
 * Members and source addresses rotate so that the per-member request budget
 * (30, then 10 a second) and the per-address handshake budget do not
 * shape the figures. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/common.h"
#include "cli/client.h"
#include "cli/control.h"
#include "store/accounts.h"
#include "store/api.h"
#include "store/datadir.h"
#include "store/members.h"

#define NKEYS 64

static bench_daemon node;
static am_identity keys[NKEYS];
static am_hs_local locals[NKEYS];
static uint64_t member_id;

static void die(const char *what) {
  fprintf(stderr, "bench_member_rtt: %s\n", what);
  if (node.pid > 0) kill(node.pid, SIGKILL);
  exit(1);
}

/* NKEYS members, a key each (the request budget is per member). */
static int setup_txn(am_txn *t, void *arg) {
  (void)arg;
  am_error err = {0};
  int64_t now = (int64_t)time(NULL);
  int rc = 0;
  uint64_t who = 0;
  for (int i = 0; i < NKEYS && !rc; i++) {
    {
      am_member m;
      am_member_init(&m);
      am_member_set(&m, AM_F_GIVEN_NAME, "Ada", 3, &err);
      am_member_set(&m, AM_F_FAMILY_NAME, "Lovelace", 8, &err);
      rc = am_members_put(t, &m, 0, &err);
      who = m.id;
      if (!member_id) member_id = m.id;
      am_member_free(&m);
      if (rc) break;
    }
    uint8_t secret[16], h[64], proof[40];
    am_mcode code;
    uint64_t got;
    if ((rc = am_accounts_code_create(t, who, now, now + 3600, secret, &code, &err))) break;
    am_random(h, sizeof h);
    am_login_proof(secret, h, proof);
    rc = am_accounts_redeem(t, proof, h, keys[i].pk, now, &got, NULL, &err);
  }
  if (rc) fprintf(stderr, "setup: %s\n", err.msg);
  return rc;
}

static void start_node(const char *amicaled) {
  am_error err = {0};
  if (bench_daemon_start(&node, amicaled, "member", "Bench School", setup_txn, NULL, &err))
    die(err.msg);
}

static const char *const caps[] = {AM_CAP_CLIENT};

static void open_session(am_client *c, int k, const char *src) {
  char why[600];
  long long deadline = am_client_now_ms() + 10000;
  int fd = am_client_dial(node.addr, src, deadline, why, sizeof why);
  if (fd < 0) die(why);
  if (am_client_handshake(c, fd, &locals[k % NKEYS], node.key, NULL, NULL, deadline) ||
      am_client_hello(c, "bench", caps, 1, deadline))
    die(c->why);
}

static void call(am_client *c, uint64_t id, am_msg *m) {
  am_msg r = {.type = AM_MSG_REQUEST, .token = id, .data = (const uint8_t *)"{}", .data_len = 2};
  snprintf(r.text, sizeof r.text, "me.show");
  if (am_client_send(c, &r)) die(c->why);
  do {
    if (am_client_recv(c, m, am_client_now_ms() + 10000)) die(c->why);
  } while (m->type != AM_MSG_RESPONSE);
  if (m->code != AM_ST_OK) {
    fprintf(stderr, "status %llu: %.*s\n", (unsigned long long)m->code, (int)m->data_len,
            (const char *)m->data);
    die("a request was refused");
  }
}

typedef struct local_arg {
  am_caller caller;
  size_t bytes;
} local_arg;

static int local_txn(am_txn *t, void *arg) {
  local_arg *a = arg;
  json_t *params = json_object(), *result = NULL;
  am_error err = {0};
  int rc = am_api_call(t, &a->caller, "me.show", params, (int64_t)time(NULL), &result, &err);
  json_decref(params);
  if (!rc) {
    char *s = json_dumps(result, JSON_COMPACT);
    a->bytes = s ? strlen(s) : 0;
    free(s);
  }
  json_decref(result);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_member_rtt AMICALED [requests=2000] [connections=300]\n");
    return 2;
  }
  long nreq = argc > 2 ? atol(argv[2]) : 2000, nconn = argc > 3 ? atol(argv[3]) : 300;
  if (nreq < NKEYS) nreq = NKEYS;
  if (nconn < 1) nconn = 1;
  am_error err = {0};
  for (int i = 0; i < NKEYS; i++)
    if (am_identity_generate(&keys[i], &err) || am_hs_local_init(&locals[i], &keys[i]))
      die("keys");
  start_node(argv[1]);
  bench_loadavg("start");
  printf("member round trips, amicaled on %s (%d members, a key each)\n\n", node.addr, NKEYS);

  /* 1. ping on an open session */
  am_client c;
  am_msg m;
  open_session(&c, 0, NULL);
  double t0 = bench_now();
  for (long i = 0; i < nreq; i++) {
    am_msg p = {.type = AM_MSG_PING, .token = (uint64_t)i};
    if (am_client_send(&c, &p)) die(c.why);
    do {
      if (am_client_recv(&c, &m, am_client_now_ms() + 10000)) die(c.why);
    } while (m.type != AM_MSG_PONG);
  }
  double ping_us = (bench_now() - t0) / (double)nreq * 1e6;
  am_client_bye(&c);

  /* 2. me.show on open sessions: one per key, each below its budget */
  long per = nreq / NKEYS < 25 ? nreq / NKEYS : 25, done = 0;
  double open_s = 0;
  size_t answer = 0;
  for (int round = 0; done < nreq; round++) {
    for (int k = 0; k < NKEYS && done < nreq; k++) {
      char src[32];
      snprintf(src, sizeof src, "127.2.%d.%d", round % 250 + 1, k + 1);
      open_session(&c, k, src);
      t0 = bench_now();
      for (long i = 0; i < per && done < nreq; i++, done++) {
        call(&c, (uint64_t)i, &m);
        answer = m.data_len;
      }
      open_s += bench_now() - t0;
      am_client_bye(&c);
    }
    if (done < nreq) { /* let the budgets refill (they are not what is measured) */
      struct timespec ts = {3, 0};
      nanosleep(&ts, NULL);
    }
  }
  double open_us = open_s / (double)done * 1e6;

  /* 3. a connection per request, as the CLI does */
  t0 = bench_now();
  for (long i = 0; i < nconn; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.3.%ld.%ld", i / 250 % 250 + 1, i % 250 + 1);
    open_session(&c, (int)(i % NKEYS), src);
    call(&c, 1, &m);
    am_client_bye(&c);
  }
  double fresh_us = (bench_now() - t0) / (double)nconn * 1e6;

  /* 4. baseline: the same call in this process */
  am_node n;
  if (am_node_open(&n, node.dir, AM_NODE_STORE | AM_NODE_READ_ONLY, &err)) die(err.msg);
  local_arg la = {.caller = {.viewer = AM_VIEWER_MEMBER, .member_id = member_id,
                             .node_name = n.conf.name, .node_kind = n.conf.kind}};
  memcpy(la.caller.node_key, node.key, 32);
  t0 = bench_now();
  for (long i = 0; i < nreq; i++)
    if (am_store_read(n.store, local_txn, &la, &err)) die(err.msg);
  double local_us = (bench_now() - t0) / (double)nreq * 1e6;
  am_node_close(&n);

  printf("  %-52s %10.1f us\n", "baseline: me.show via am_api_call, in-process", local_us);
  printf("  %-52s %10.1f us\n", "baseline: ping/pong on an open session", ping_us);
  printf("  %-52s %10.1f us   (%ld requests, answer %zu bytes)\n",
         "me.show on an open session", open_us, done, answer);
  printf("  %-52s %10.1f us   (%ld connections)\n",
         "connect + handshake + hello + me.show + goodbye", fresh_us, nconn);
  printf("\n  a request costs the transport %.1f us over the query itself; a fresh\n"
         "  connection (each CLI command) adds %.1f us of TCP and Noise handshake.\n",
         open_us - local_us, fresh_us - open_us);
  bench_loadavg("end");
  bench_daemon_stop(&node);
  for (int i = 0; i < NKEYS; i++) am_hs_local_wipe(&locals[i]), am_identity_wipe(&keys[i]);
  return 0;
}
