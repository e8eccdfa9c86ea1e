/* See client.h. Memory is bounded as in the daemon: one frame buffer
 * (64 KiB) and the channel's message (at most AM_MSG_MAX, 4096 bytes
 * until the node's hello). */
#include "cli/client.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/invite.h" /* am_wipe */

long long am_client_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int poll_until(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - am_client_now_ms();
    if (left <= 0) return -1;
    struct pollfd pf = {.fd = fd, .events = events};
    int r = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r > 0) return 0;
  }
}

/* A non-blocking connect, waited for until the deadline. */
static int connect_one(const struct addrinfo *a, const char *bind_ip, long long deadline) {
  int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
  if (fd < 0) return -1;
  if (bind_ip) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    if (a->ai_family != AF_INET || inet_pton(AF_INET, bind_ip, &src.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&src, sizeof src) != 0)
      goto fail;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) goto fail;
  if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) goto fail;
    if (poll_until(fd, POLLOUT, deadline)) {
      errno = ETIMEDOUT;
      goto fail;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
      errno = soerr ? soerr : EIO;
      goto fail;
    }
  }
  if (fcntl(fd, F_SETFL, fl) < 0) goto fail;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
fail: {
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}
}

int am_client_dial(const char *addr, const char *bind_ip, long long deadline, char *why,
                   size_t why_len) {
  char host[300], port[8];
  const char *colon = strrchr(addr, ':');
  size_t hl = colon ? (size_t)(colon - addr) : 0;
  const char *h = addr;
  if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') h++, hl -= 2;
  if (!colon || hl == 0 || hl >= sizeof host || strlen(colon + 1) == 0 ||
      strlen(colon + 1) >= sizeof port) {
    snprintf(why, why_len, "'%s' is not an address (HOST:PORT)", addr);
    return -1;
  }
  memcpy(host, h, hl);
  host[hl] = 0;
  snprintf(port, sizeof port, "%s", colon + 1);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int g = getaddrinfo(host, port, &hints, &res);
  if (g) {
    snprintf(why, why_len, "cannot resolve %s: %s", host, gai_strerror(g));
    return -1;
  }
  int fd = -1, e = 0;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = connect_one(a, bind_ip, deadline);
    if (fd < 0) e = errno;
  }
  freeaddrinfo(res);
  if (fd < 0) snprintf(why, why_len, "cannot connect to %s: %s", addr, strerror(e ? e : EIO));
  return fd;
}

int am_client_send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int am_client_recv_all(int fd, void *p, size_t n, long long deadline) {
  uint8_t *b = p;
  while (n) {
    if (poll_until(fd, POLLIN, deadline)) return -1;
    ssize_t r = recv(fd, b, n, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) return -1;
    b += r;
    n -= (size_t)r;
  }
  return 0;
}

static int fail(am_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(am_client *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  return AM_EIO;
}

int am_client_handshake(am_client *c, int fd, const am_hs_local *local,
                        const uint8_t server_key[static 32], am_hs_proof_fn proof_fn,
                        void *proof_arg, long long deadline) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->bye = -1;
  am_hs hs;
  memset(&hs, 0, sizeof hs);
  am_error err = {0};
  uint8_t buf[AM_HS_MSG_MAX + 2];
  size_t len;
  int rc = AM_EIO;
  if (am_hs_start_initiator(&hs, local, server_key, proof_fn, proof_arg)) {
    fail(c, "cannot start the handshake");
    goto out;
  }
  if (am_hs_write(&hs, buf, sizeof buf, &len, &err) || am_client_send_all(fd, buf, len)) {
    fail(c, "the connection closed at once");
    goto out;
  }
  uint8_t hdr[2];
  if (am_client_recv_all(fd, hdr, 2, deadline)) {
    fail(c, "the node closed the connection during the handshake (is it an Amicale node?)");
    goto out;
  }
  len = (size_t)hdr[0] << 8 | hdr[1];
  if (len < am_hs_read_min(&hs) || len > am_hs_read_max(&hs)) {
    fail(c, "the node's handshake message has a length of %zu bytes: not an Amicale node",
         len);
    goto out;
  }
  if (am_client_recv_all(fd, buf, len, deadline)) {
    fail(c, "the node's handshake message was cut short");
    goto out;
  }
  if (am_hs_read(&hs, buf, len, &err)) {
    if (hs.failure == AM_HSF_WRONG_KEY)
      fail(c, "a different node answered at this address (not the key you expected): a "
              "wrong address, or someone in the middle");
    else
      fail(c, "handshake failed: %s", err.msg);
    goto out;
  }
  if (am_hs_write(&hs, buf, sizeof buf, &len, &err) || am_client_send_all(fd, buf, len)) {
    fail(c, "cannot send the last handshake message");
    goto out;
  }
  am_noise_cipher tx, rx;
  if (am_hs_split(&hs, &tx, &rx)) {
    fail(c, "handshake split failed");
    goto out;
  }
  am_chan_init(&c->chan, &tx, &rx, AM_MSG_MAX_PREHELLO);
  am_wipe(&tx, sizeof tx);
  am_wipe(&rx, sizeof rx);
  c->chan_open = true;
  rc = 0;
out:
  am_hs_wipe(&hs);
  return rc;
}

int am_client_send(am_client *c, const am_msg *m) {
  if (!c->chan_open) return fail(c, "no session");
  am_buf plain = {0}, out = {0};
  am_error err = {0};
  int rc = am_msg_encode(m, &plain, &err);
  if (rc) {
    am_buf_free(&plain);
    fail(c, "cannot encode the message: %s", err.msg);
    return rc;
  }
  rc = am_chan_seal(&c->chan, (uint8_t *)plain.data, plain.len, &out);
  if (!rc && am_client_send_all(c->fd, out.data, out.len))
    rc = fail(c, "the node closed the connection");
  am_buf_free(&plain);
  am_buf_free(&out);
  return rc;
}

int am_client_recv(am_client *c, am_msg *m, long long deadline) {
  if (!c->chan_open) return fail(c, "no session");
  if (!c->frame && !(c->frame = malloc(AM_FRAME_MAX))) return fail(c, "out of memory");
  for (;;) {
    uint8_t hdr[2];
    if (am_client_recv_all(c->fd, hdr, 2, deadline))
      return fail(c, am_client_now_ms() >= deadline ? "no answer from the node in time"
                                                    : "the node closed the connection");
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (len < 1 + AM_FRAME_TAG) return fail(c, "a frame of %zu bytes: not Amicale", len);
    if (am_client_recv_all(c->fd, c->frame, len, deadline))
      return fail(c, "the node's frame was cut short");
    const uint8_t *msg;
    size_t mlen;
    int rc = am_chan_open(&c->chan, c->frame, len, &msg, &mlen);
    if (rc < 0) return fail(c, "a frame from the node did not authenticate");
    if (rc == 0) continue;
    am_error err = {0};
    if (am_msg_decode(msg, mlen, m, &err)) return fail(c, "protocol error: %s", err.msg);
    return 0;
  }
}

int am_client_hello(am_client *c, const char *name, const char *const *caps, size_t ncaps,
                    long long deadline) {
  am_msg m = {.type = AM_MSG_HELLO};
  snprintf(m.hello.name, sizeof m.hello.name, "%s", name);
  snprintf(m.hello.software, sizeof m.hello.software, "amicale/%s", AMICALE_VERSION);
  for (size_t i = 0; i < ncaps && i < AM_HELLO_CAPS_MAX; i++)
    snprintf(m.hello.caps[m.hello.ncaps++], sizeof m.hello.caps[0], "%s", caps[i]);
  m.hello.time = (uint64_t)time(NULL);
  int rc = am_client_send(c, &m);
  if (rc) return rc;
  if ((rc = am_client_recv(c, &m, deadline))) return rc;
  if (m.type == AM_MSG_GOODBYE) {
    const char *r = am_bye_name(m.code);
    c->bye = (int)(m.code > 1000 ? 1000 : m.code);
    snprintf(c->why, sizeof c->why, "%s%s%s", r ? r : "refused", m.text[0] ? ": " : "",
             m.text);
    return 1;
  }
  if (m.type != AM_MSG_HELLO) return fail(c, "the node's first message was not a hello");
  c->hello = m.hello;
  c->chan.limit = AM_MSG_MAX;
  return 0;
}

void am_client_bye(am_client *c) {
  if (c->chan_open && c->fd >= 0) {
    am_msg m = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
    am_client_send(c, &m);
  }
  am_client_close(c);
}

void am_client_close(am_client *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  if (c->chan_open) am_chan_free(&c->chan);
  c->chan_open = false;
  free(c->frame);
  c->frame = NULL;
}
