/* See client.h. */
#include "tests/tools/client.h"

#include "cli/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

bool am_tc_replicate;

/* The clock and the blocking reads and writes are the CLI's (cli/client.h);
 * this file keeps the test-only knobs: a source address, a hello that lists
 * what a test asks for, a static frame buffer. */
long long am_tc_now_ms(void) { return am_client_now_ms(); }

int am_tc_dial(const char *addr, const char *bind_ip) {
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host) return -1;
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = 0;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind_ip) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, bind_ip, &src.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
      close(fd);
      return -1;
    }
  }
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int am_tc_send_all(int fd, const void *p, size_t n) { return am_client_send_all(fd, p, n); }

int am_tc_recv_all(int fd, void *p, size_t n, long long deadline) {
  return am_client_recv_all(fd, p, n, deadline);
}

int am_tc_send(am_tclient *c, const am_msg *m) {
  am_buf plain = {0}, out = {0};
  int rc = am_msg_encode(m, &plain, NULL);
  if (!rc) rc = am_chan_seal(&c->chan, (uint8_t *)plain.data, plain.len, &out);
  if (!rc) rc = am_tc_send_all(c->fd, out.data, out.len);
  am_buf_free(&plain);
  am_buf_free(&out);
  return rc;
}

int am_tc_recv(am_tclient *c, am_msg *m, long long deadline) {
  static uint8_t buf[AM_FRAME_MAX + 2];
  for (;;) {
    uint8_t hdr[2];
    if (am_tc_recv_all(c->fd, hdr, 2, deadline)) return -1;
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (am_tc_recv_all(c->fd, buf, len, deadline)) return -1;
    const uint8_t *msg;
    size_t mlen;
    int rc = am_chan_open(&c->chan, buf, len, &msg, &mlen);
    if (rc < 0) return -1;
    if (rc == 1) return am_msg_decode(msg, mlen, m, NULL) ? -1 : 0;
  }
}

static int refuse(am_tclient *c, int rc, const char *why) {
  snprintf(c->refusal, sizeof c->refusal, "%s", why);
  return rc;
}

int am_tc_open(am_tclient *c, const char *addr, const char *bind_ip,
               const am_hs_local *local, const uint8_t server_key[static 32],
               const char *name) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  if ((c->fd = am_tc_dial(addr, bind_ip)) < 0) return refuse(c, -1, "cannot connect");
  am_hs hs;
  am_error err = {0};
  am_hs_start_initiator(&hs, local, server_key, NULL, NULL);
  uint8_t buf[AM_HS_MSG_MAX + 2];
  size_t len;
  long long deadline = am_tc_now_ms() + 10000;
  if (am_hs_write(&hs, buf, sizeof buf, &len, NULL) || am_tc_send_all(c->fd, buf, len))
    return refuse(c, -1, "cannot send message 1");
  uint8_t hdr[2];
  if (am_tc_recv_all(c->fd, hdr, 2, deadline))
    return refuse(c, 1, "refused: closed during the handshake");
  len = (size_t)hdr[0] << 8 | hdr[1];
  if (len > AM_HS_MSG_MAX || am_tc_recv_all(c->fd, buf, len, deadline))
    return refuse(c, -1, "message 2 cut short");
  if (am_hs_read(&hs, buf, len, &err)) {
    char why[700];
    snprintf(why, sizeof why, "refused: %s", err.msg);
    am_hs_wipe(&hs);
    return refuse(c, 1, why);
  }
  if (am_hs_write(&hs, buf, sizeof buf, &len, NULL) || am_tc_send_all(c->fd, buf, len))
    return refuse(c, -1, "cannot send message 3");
  am_noise_cipher tx, rx;
  am_hs_split(&hs, &tx, &rx);
  am_hs_wipe(&hs);
  am_chan_init(&c->chan, &tx, &rx, AM_MSG_MAX);
  am_msg m = {.type = AM_MSG_HELLO};
  snprintf(m.hello.name, sizeof m.hello.name, "%s", name);
  snprintf(m.hello.software, sizeof m.hello.software, "amicale-test-client");
  snprintf(m.hello.caps[0], sizeof m.hello.caps[0], "announce");
  m.hello.ncaps = 1;
  if (am_tc_replicate) snprintf(m.hello.caps[m.hello.ncaps++], sizeof m.hello.caps[0], "replicate");
  m.hello.time = (uint64_t)time(NULL);
  if (am_tc_send(c, &m)) return refuse(c, -1, "cannot send the hello");
  if (am_tc_recv(c, &m, am_tc_now_ms() + 10000)) return refuse(c, -1, "no hello came back");
  if (m.type == AM_MSG_GOODBYE) {
    const char *r = am_bye_name(m.code);
    char why[300];
    snprintf(why, sizeof why, "goodbye %s", r ? r : "?");
    return refuse(c, 1, why);
  }
  if (m.type != AM_MSG_HELLO) return refuse(c, -1, "the first message was not a hello");
  c->hello = m.hello;
  return 0;
}

void am_tc_close(am_tclient *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  am_chan_free(&c->chan);
}
