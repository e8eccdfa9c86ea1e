/* amicale-member-probe: a member's client that does what the CLI never
 * does, for tests/e2e/test_login.sh, over cli/client.h (the CLI's own
 * transport client). Modes:
 *
 *   flood ADDR NODEKEY KEYFILE N  one session as the member key of KEYFILE,
 *                       N "whoami" requests sent at once, N answers read:
 *                       prints "ok A rate-limited B"; then one request every
 *                       0.1 s until one is answered ok: "recovered". Exit 0
 *                       when some were refused, some answered, and it
 *                       recovered within 10 s.
 *   hold ADDR NODEKEY KEYFILE  a session left open: prints "open", then
 *                       waits (up to 60 s, answering pings) for the node's
 *                       goodbye: "goodbye REASON".
 *   peer-request ADDR DIR NODEKEY  a session as the node of data directory
 *                       DIR (a peer), then a request: expects the error
 *                       `unsupported`, printed as "error unsupported".
 *   rtt ADDR NODEKEY KEYFILE N METHOD  N requests one after the other on
 *                       one session, and N connections of one request each:
 *                       prints the mean round trips (the benchmark's probe).
 *
 * Exit 0 when the node behaved as expected, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "store/datadir.h"

static const char *const client_caps[] = {AM_CAP_CLIENT};

static int open_as(am_client *c, const char *addr, const am_identity *id,
                   const char *nodekey, bool client) {
  uint8_t key[32];
  char why[600];
  if (am_pubkey_from_text(nodekey, key, NULL)) {
    printf("bad node key\n");
    return -1;
  }
  am_hs_local local;
  am_hs_local_init(&local, id);
  long long deadline = am_client_now_ms() + 10000;
  int fd = am_client_dial(addr, NULL, deadline, why, sizeof why);
  int rc = -1;
  if (fd < 0) {
    printf("%s\n", why);
  } else if (am_client_handshake(c, fd, &local, key, NULL, NULL, deadline)) {
    printf("handshake: %s\n", c->why);
  } else {
    static const char *const node_caps[] = {"announce"};
    rc = am_client_hello(c, client ? "member" : "probe", client ? client_caps : node_caps, 1,
                         deadline);
    if (rc == 1) printf("goodbye %s\n", c->why);
    else if (rc) printf("hello: %s\n", c->why);
  }
  am_hs_local_wipe(&local);
  return rc;
}

static int send_request(am_client *c, uint64_t id, const char *method) {
  am_msg m = {.type = AM_MSG_REQUEST, .token = id, .data = (const uint8_t *)"{}", .data_len = 2};
  snprintf(m.text, sizeof m.text, "%s", method);
  return am_client_send(c, &m);
}

/* The next response (pings answered); -1 on anything else. */
static int next_response(am_client *c, am_msg *m, long long deadline) {
  while (am_client_recv(c, m, deadline) == 0) {
    if (m->type == AM_MSG_RESPONSE) return 0;
    if (m->type == AM_MSG_PING) {
      am_msg pong = {.type = AM_MSG_PONG, .token = m->token};
      am_client_send(c, &pong);
      continue;
    }
    if (m->type == AM_MSG_GOODBYE) {
      printf("goodbye %s\n", am_bye_name(m->code) ? am_bye_name(m->code) : "?");
      return -1;
    }
  }
  printf("no answer: %s\n", c->why);
  return -1;
}

static int flood(const char *addr, const char *nodekey, const am_identity *id, long n) {
  am_client c;
  if (open_as(&c, addr, id, nodekey, true)) return 1;
  for (long i = 0; i < n; i++)
    if (send_request(&c, (uint64_t)i + 1, AM_METHOD_WHOAMI)) {
      printf("send failed: %s\n", c.why);
      return 1;
    }
  long ok = 0, limited = 0;
  am_msg m;
  for (long i = 0; i < n; i++) {
    if (next_response(&c, &m, am_client_now_ms() + 10000)) return 1;
    if (m.token != (uint64_t)i + 1) {
      printf("answer %llu out of order (expected %ld)\n", (unsigned long long)m.token, i + 1);
      return 1;
    }
    if (m.code == AM_ST_OK) ok++;
    else if (m.code == AM_ST_RATE_LIMITED) limited++;
  }
  printf("ok %ld rate-limited %ld\n", ok, limited);
  long long start = am_client_now_ms();
  bool recovered = false;
  for (uint64_t k = 1000; am_client_now_ms() - start < 10000; k++) {
    if (send_request(&c, k, AM_METHOD_WHOAMI) || next_response(&c, &m, start + 10000)) break;
    if (m.code == AM_ST_OK) {
      recovered = true;
      break;
    }
    struct timespec ts = {0, 100 * 1000000};
    nanosleep(&ts, NULL); /* the pace of a client retrying, not a wait for a condition */
  }
  printf("%s\n", recovered ? "recovered" : "did not recover");
  am_client_bye(&c);
  return ok > 0 && limited > 0 && recovered ? 0 : 1;
}

static int hold(const char *addr, const char *nodekey, const am_identity *id) {
  am_client c;
  if (open_as(&c, addr, id, nodekey, true)) return 1;
  printf("open\n");
  fflush(stdout);
  am_msg m;
  long long deadline = am_client_now_ms() + 60000;
  while (am_client_recv(&c, &m, deadline) == 0) {
    if (m.type == AM_MSG_GOODBYE) {
      printf("goodbye %s\n", am_bye_name(m.code) ? am_bye_name(m.code) : "?");
      am_client_close(&c);
      return 0;
    }
    if (m.type == AM_MSG_PING) {
      am_msg pong = {.type = AM_MSG_PONG, .token = m.token};
      am_client_send(&c, &pong);
    }
  }
  printf("no goodbye: %s\n", c.why);
  am_client_close(&c);
  return 1;
}

static int peer_request(const char *addr, const char *dir, const char *nodekey) {
  am_node n;
  am_error err = {0};
  if (am_node_open(&n, dir, AM_NODE_KEY | AM_NODE_READ_ONLY, &err)) {
    printf("%s\n", err.msg);
    return 1;
  }
  am_client c;
  int rc = open_as(&c, addr, &n.id, nodekey, false);
  am_node_close(&n);
  if (rc) return 1;
  send_request(&c, 1, "me.show");
  am_msg m;
  long long deadline = am_client_now_ms() + 10000;
  rc = 1;
  while (am_client_recv(&c, &m, deadline) == 0) {
    if (m.type == AM_MSG_ERROR) {
      printf("error %s\n", m.code == AM_MSGERR_UNSUPPORTED ? "unsupported" : "other");
      rc = m.code == AM_MSGERR_UNSUPPORTED ? 0 : 1;
      break;
    }
    if (m.type == AM_MSG_RESPONSE || m.type == AM_MSG_GOODBYE) {
      printf("unexpected %s\n", am_msg_type_name(m.type));
      break;
    }
  }
  am_client_bye(&c);
  return rc;
}

static int rtt(const char *addr, const char *nodekey, const am_identity *id, long n,
               const char *method) {
  am_client c;
  am_msg m;
  if (open_as(&c, addr, id, nodekey, true)) return 1;
  long long t0 = am_client_now_ms();
  for (long i = 0; i < n; i++)
    if (send_request(&c, (uint64_t)i, method) ||
        next_response(&c, &m, am_client_now_ms() + 10000))
      return 1;
  double open_ms = (double)(am_client_now_ms() - t0) / (double)n;
  am_client_bye(&c);
  t0 = am_client_now_ms();
  for (long i = 0; i < n; i++) {
    if (open_as(&c, addr, id, nodekey, true)) return 1;
    if (send_request(&c, 1, method) || next_response(&c, &m, am_client_now_ms() + 10000))
      return 1;
    am_client_bye(&c);
  }
  double fresh_ms = (double)(am_client_now_ms() - t0) / (double)n;
  printf("open %.3f fresh %.3f\n", open_ms, fresh_ms);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: amicale_member_probe MODE ADDR ...\n");
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "peer-request") && argc == 5) return peer_request(argv[2], argv[3], argv[4]);
  if (argc < 5) return 2;
  am_identity id;
  am_error err = {0};
  if (am_identity_load(&id, argv[4], &err)) {
    printf("%s\n", err.msg);
    return 1;
  }
  int rc = 2;
  if (!strcmp(mode, "flood") && argc == 6) rc = flood(argv[2], argv[3], &id, atol(argv[5]));
  else if (!strcmp(mode, "hold")) rc = hold(argv[2], argv[3], &id);
  else if (!strcmp(mode, "rtt") && argc == 7)
    rc = rtt(argv[2], argv[3], &id, atol(argv[5]), argv[6]);
  am_identity_wipe(&id);
  return rc;
}
