/* amicale-probe: a misbehaving (or well-behaved) client for the hostile-peer
 * tests (tests/e2e/test_hostile.sh). It speaks to a running amicaled over
 * TCP with plain blocking sockets and the project's own handshake code, and
 * prints one line saying what the daemon did. Modes:
 *
 *   garbage ADDR            4 KiB of random bytes; expects the daemon to close
 *   oversize ADDR           a handshake length of 65535; expects a close
 *   truncated ADDR          half a first handshake message, then our close
 *   slow ADDR               a valid first message, one byte per second;
 *                           expects the daemon to close before it is whole
 *   flood ADDR N            N connections at once, nothing sent; prints how
 *                           many the daemon closed within 5 s
 *   session ADDR DIR KEY    a full handshake as the node of data directory
 *                           DIR towards the node KEY; prints "connected NAME",
 *                           "goodbye REASON" or "refused: ..."
 *   noread ADDR DIR KEY     a session, then pings without ever reading the
 *                           answers; expects the daemon to drop us
 *   bad-frame ADDR DIR KEY  a session, then a frame whose tag is wrong
 *   sync-flood ADDR DIR KEY N  a replication session (15.4) whose first
 *                           round is N copies of the costliest entry (all of
 *                           the node's ids, listed as none), then a ping:
 *                           expects the pong within 20 s
 *   hold-want ADDR DIR KEY  offers an id the node lacks, takes the want and
 *                           never answers it (pings are answered): expects
 *                           goodbye too-slow within 30 s
 *   relay ADDR DIR KEY FILE a session, then every envelope of FILE (as
 *                           `amicale announcement export` writes them) in
 *                           announce messages, as a peer relaying them
 *                           would; then a ping: "relayed N" once answered
 *
 * ADDR is IPv4 "a.b.c.d:port". Exit 0 when the daemon behaved as expected,
 * 1 otherwise (with a line saying what happened). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/channel.h"
#include "crypto/handshake.h"
#include "proto/announce.h"
#include "proto/session.h"
#include "proto/sync.h"
#include "store/datadir.h"
#include "tests/tools/client.h"

/* Waits until the peer closes (EOF or reset): 1, or 0 at the deadline. */
static int wait_closed(int fd, long long ms) {
  long long deadline = am_tc_now_ms() + ms;
  uint8_t buf[4096];
  for (;;) {
    long long left = deadline - am_tc_now_ms();
    if (left <= 0) return 0;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, (int)left) <= 0) continue;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) return 1;
  }
}

static int expect_close(int fd, const char *what) {
  if (wait_closed(fd, 15000)) {
    printf("closed by the daemon after %s\n", what);
    return 0;
  }
  printf("NOT closed 15 s after %s\n", what);
  return 1;
}

static int first_message(uint8_t *out, size_t *len) {
  static am_hs_local local;
  static am_identity id;
  am_identity_generate(&id, NULL);
  am_hs_local_init(&local, &id);
  static am_hs hs;
  uint8_t any[32] = {1};
  am_hs_start_initiator(&hs, &local, any, NULL, NULL);
  return am_hs_write(&hs, out, AM_HS_MSG_MAX + 2, len, NULL);
}

/* A session as the node of data directory dir. */
static int open_session(am_tclient *c, const char *addr, const char *dir, const char *keytext) {
  am_node n;
  am_error err = {0};
  memset(c, 0, sizeof *c);
  c->fd = -1;
  uint8_t key[32];
  if (am_node_open(&n, dir, AM_NODE_KEY | AM_NODE_READ_ONLY, &err) ||
      am_pubkey_from_text(keytext, key, &err)) {
    snprintf(c->refusal, sizeof c->refusal, "%s", err.msg);
    return -1;
  }
  am_hs_local local;
  am_hs_local_init(&local, &n.id);
  int rc = am_tc_open(c, addr, NULL, &local, key, n.conf.name);
  am_hs_local_wipe(&local);
  am_node_close(&n);
  return rc;
}

static void seal_pings(am_tclient *c, am_buf *batch, uint64_t from) {
  batch->len = 0;
  for (uint64_t i = 0; i < 1000; i++) {
    am_msg m = {.type = AM_MSG_PING, .token = from + i};
    am_buf plain = {0};
    am_msg_encode(&m, &plain, NULL);
    am_chan_seal(&c->chan, (uint8_t *)plain.data, plain.len, batch);
    am_buf_free(&plain);
  }
}

static int relay(const char *addr, const char *dir, const char *key, const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) {
    printf("cannot open %s\n", file);
    return 1;
  }
  static uint8_t data[1 << 20];
  size_t len = fread(data, 1, sizeof data, f);
  fclose(f);
  am_tclient s;
  int rc = open_session(&s, addr, dir, key);
  if (rc) {
    printf("%s: %s\n", rc < 0 ? "failure" : "refused", s.refusal);
    am_tc_close(&s);
    return 1;
  }
  size_t off = 0, n = 0, used;
  int reason;
  while (off < len && am_ann_frame(data + off, len - off, &used, &reason) == 0) {
    am_msg m = {.type = AM_MSG_ANNOUNCE, .envelope = data + off, .envelope_len = used};
    if (am_tc_send(&s, &m)) break;
    off += used;
    n++;
  }
  am_msg ping = {.type = AM_MSG_PING, .token = 77};
  am_tc_send(&s, &ping);
  long long deadline = am_tc_now_ms() + 15000;
  am_msg m;
  rc = 1;
  while (am_tc_recv(&s, &m, deadline) == 0) {
    if (m.type == AM_MSG_PONG && m.token == 77) {
      printf("relayed %zu\n", n);
      rc = 0;
      break;
    }
    if (m.type == AM_MSG_GOODBYE) {
      printf("goodbye %s\n", am_bye_name(m.code) ? am_bye_name(m.code) : "?");
      break;
    }
  }
  if (rc) printf("no answer after relaying %zu\n", n);
  am_msg bye = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
  am_tc_send(&s, &bye);
  am_tc_close(&s);
  return rc;
}

/* Reads until a message of `type` (or a goodbye) arrives, answering pings. */
static int wait_for_msg(am_tclient *s, uint64_t type, long long deadline, am_msg *m) {
  while (am_tc_recv(s, m, deadline) == 0) {
    if (m->type == type || m->type == AM_MSG_GOODBYE) return 0;
    if (m->type == AM_MSG_PING) {
      am_msg pong = {.type = AM_MSG_PONG, .token = m->token};
      am_tc_send(s, &pong);
    }
  }
  return -1;
}

static int replication_probe(const char *mode, const char *addr, const char *dir,
                             const char *key, long n) {
  am_tc_replicate = true;
  am_tclient s;
  int rc = open_session(&s, addr, dir, key);
  if (rc) {
    printf("%s: %s\n", rc < 0 ? "failure" : "refused", s.refusal);
    am_tc_close(&s);
    return 1;
  }
  am_msg m;
  rc = 1;
  if (!strcmp(mode, "sync-flood")) {
    size_t max = AM_SYNC_BYTES_MAX / 4, k = n > 0 && (size_t)n < max ? (size_t)n : max;
    uint8_t *in = calloc(k, 4);
    for (size_t i = 0; i < k; i++) in[4 * i] = AM_RANGE_IDS; /* depth 0, no ids */
    am_msg y = {.type = AM_MSG_SYNC, .flags = AM_SYNC_START, .data = in, .data_len = k * 4};
    am_msg ping = {.type = AM_MSG_PING, .token = 99};
    long long t0 = am_tc_now_ms();
    if (am_tc_send(&s, &y) == 0 && am_tc_send(&s, &ping) == 0 &&
        wait_for_msg(&s, AM_MSG_PONG, t0 + 20000, &m) == 0 && m.type == AM_MSG_PONG) {
      printf("answered a ping %lld ms after a round of %zu costly entries\n",
             am_tc_now_ms() - t0, k);
      rc = 0;
    } else {
      printf("no pong within 20 s of a round of %zu costly entries\n", k);
    }
    free(in);
  } else {
    uint8_t sid[16];
    am_random(sid, sizeof sid);
    am_msg o = {.type = AM_MSG_OFFER, .data = sid, .nids = 1};
    long long t0 = am_tc_now_ms();
    if (am_tc_send(&s, &o) == 0 && wait_for_msg(&s, AM_MSG_WANT, t0 + 10000, &m) == 0 &&
        m.type == AM_MSG_WANT) {
      /* Wanted: now silence, but for pongs. */
      if (wait_for_msg(&s, AM_MSG_GOODBYE, t0 + 30000, &m) == 0 && m.type == AM_MSG_GOODBYE) {
        const char *why = am_bye_name(m.code);
        printf("goodbye %s %lld ms after the want\n", why ? why : "?", am_tc_now_ms() - t0);
        rc = m.code == AM_BYE_TOO_SLOW ? 0 : 1;
      } else {
        printf("still connected 30 s after a want left unanswered\n");
      }
    } else {
      printf("the offer was not wanted\n");
    }
  }
  am_tc_close(&s);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: amicale-probe MODE ADDR [...] (see the source)\n");
    return 2;
  }
  am_crypto_init();
  const char *mode = argv[1], *addr = argv[2];
  if (!strcmp(mode, "flood")) {
    int n = argc > 3 ? atoi(argv[3]) : 100;
    int *fds = calloc((size_t)n, sizeof *fds);
    int opened = 0, closed = 0;
    for (int i = 0; i < n; i++)
      if ((fds[i] = am_tc_dial(addr, NULL)) >= 0) opened++;
    long long deadline = am_tc_now_ms() + 5000;
    for (int i = 0; i < n; i++) {
      if (fds[i] < 0) continue;
      long long left = deadline - am_tc_now_ms();
      if (wait_closed(fds[i], left > 0 ? left : 1)) closed++;
      close(fds[i]);
    }
    free(fds);
    printf("flood: %d opened, %d closed by the daemon within 5 s\n", opened, closed);
    return closed > 0 ? 0 : 1;
  }
  if (argc >= 6 && !strcmp(mode, "relay")) return relay(addr, argv[3], argv[4], argv[5]);
  if (argc >= 5 && (!strcmp(mode, "sync-flood") || !strcmp(mode, "hold-want")))
    return replication_probe(mode, addr, argv[3], argv[4], argc > 5 ? atol(argv[5]) : 0);
  if (argc >= 5 && (!strcmp(mode, "session") || !strcmp(mode, "noread") ||
                    !strcmp(mode, "bad-frame"))) {
    am_tclient s;
    int rc = open_session(&s, addr, argv[3], argv[4]);
    if (rc < 0) {
      printf("failure: %s\n", s.refusal);
      am_tc_close(&s);
      return 1;
    }
    if (rc == 1) {
      printf("%s\n", s.refusal);
      am_tc_close(&s);
      return !strcmp(mode, "session") ? 0 : 1;
    }
    if (!strcmp(mode, "session")) {
      printf("connected %s\n", s.hello.name);
      am_msg bye = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
      am_tc_send(&s, &bye);
      am_tc_close(&s);
      return 0;
    }
    if (!strcmp(mode, "bad-frame")) {
      uint8_t f[2 + 40] = {0, 40};
      am_random(f + 2, 40);
      am_tc_send_all(s.fd, f, sizeof f);
      rc = expect_close(s.fd, "a frame that does not authenticate");
      am_tc_close(&s);
      return rc;
    }
    /* noread: pings as fast as we can, never reading the pongs. */
    /* (The receive buffer is left as it is: shrinking it under a live
     * connection stalled the other direction under gVisor's TCP.) */
    long long deadline = am_tc_now_ms() + 30000;
    am_buf batch = {0};
    uint64_t sent = 0;
    rc = 1;
    /* Non-blocking, so a daemon that stops reading without closing cannot
     * hold the probe past its deadline. */
    fcntl(s.fd, F_SETFL, fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    bool closed = false;
    while (!closed && am_tc_now_ms() < deadline) {
      seal_pings(&s, &batch, sent);
      size_t off = 0;
      while (off < batch.len) {
        ssize_t w = send(s.fd, batch.data + off, batch.len - off, MSG_NOSIGNAL);
        if (w > 0) {
          off += (size_t)w;
          continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
          long long left = deadline - am_tc_now_ms();
          if (left <= 0) break;
          struct pollfd pf = {.fd = s.fd, .events = POLLOUT};
          poll(&pf, 1, (int)(left < 1000 ? left : 1000));
          if (pf.revents & (POLLERR | POLLHUP)) closed = true;
          if (closed) break;
          continue;
        }
        closed = true; /* EPIPE, ECONNRESET: the daemon closed */
        break;
      }
      if (off < batch.len && !closed) break; /* the deadline, blocked */
      sent += 1000;
    }
    if (closed) {
      printf("dropped by the daemon after %llu pings never read\n", (unsigned long long)sent);
      rc = 0;
    } else {
      printf("NOT dropped after %llu pings never read (%s)\n", (unsigned long long)sent,
             am_tc_now_ms() >= deadline ? "the deadline passed" : "blocked");
    }
    am_buf_free(&batch);
    am_tc_close(&s);
    return rc;
  }
  int fd = am_tc_dial(addr, NULL);
  if (fd < 0) {
    printf("cannot connect to %s\n", addr);
    return 1;
  }
  if (!strcmp(mode, "garbage")) {
    uint8_t junk[4096];
    am_random(junk, sizeof junk);
    junk[0] = 0, junk[1] = 40; /* a plausible length, then nonsense */
    am_tc_send_all(fd, junk, sizeof junk);
    return expect_close(fd, "4 KiB of garbage");
  }
  if (!strcmp(mode, "oversize")) {
    uint8_t b[64] = {0xff, 0xff};
    am_tc_send_all(fd, b, sizeof b);
    return expect_close(fd, "a length prefix of 65535");
  }
  uint8_t m1[AM_HS_MSG_MAX + 2];
  size_t len;
  first_message(m1, &len);
  if (!strcmp(mode, "truncated")) {
    am_tc_send_all(fd, m1, len / 2);
    shutdown(fd, SHUT_WR);
    return expect_close(fd, "half a handshake message and our close");
  }
  if (!strcmp(mode, "slow")) {
    long long start = am_tc_now_ms();
    for (size_t i = 0; i < len; i++) {
      if (am_tc_send_all(fd, m1 + i, 1)) break;
      if (wait_closed(fd, 1000)) {
        printf("closed by the daemon after %zu bytes sent one per second (%lld s)\n", i + 1,
               (am_tc_now_ms() - start) / 1000);
        return 0;
      }
    }
    printf("NOT closed while sending one byte per second\n");
    return 1;
  }
  fprintf(stderr, "probe: unknown mode %s\n", mode);
  return 2;
}
