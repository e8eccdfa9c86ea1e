/* See control.h. */
#include "cli/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes: 1 ready, 0
 * timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int pr = poll(&p, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return -1;
    if (pr > 0) return 1;
  }
}

/* A daemon that is stopped (or whose backlog is full) must not hang the
 * CLI: the socket is non-blocking and every step has the deadline. */
static int connect_to(const char *dir, int *fd_out, long long deadline, am_error *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/control.sock", dir);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path)
    return am_fail(err, AM_EIO, "the data directory path is too long for a control socket");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return am_fail(err, AM_EIO, "cannot create a socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    if (e == EAGAIN || e == EINPROGRESS) { /* backlog full: wait for room */
      int w = wait_fd(fd, POLLOUT, deadline);
      socklen_t sl = sizeof e;
      if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) == 0 && e == 0) {
        *fd_out = fd;
        return 0;
      }
      if (w == 0) {
        close(fd);
        return am_fail(err, AM_EIO, "amicaled for %s does not accept connections (is it "
                                    "stopped or overloaded?)", dir);
      }
    }
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
      return am_fail(err, AM_ENOTFOUND,
                     "amicaled is not running for %s (start it with: amicaled --dir %s, or "
                     "systemctl start amicaled)", dir, dir);
    return am_fail(err, AM_EIO, "cannot reach amicaled at %s: %s", sa.sun_path, strerror(e));
  }
  *fd_out = fd;
  return 0;
}

int am_ctl_call(const char *dir, json_t *req, json_t **resp, int timeout_ms, am_error *err) {
  *resp = NULL;
  long long deadline = now_ms() + timeout_ms;
  int fd = -1, rc = connect_to(dir, &fd, deadline, err);
  if (rc) return rc;
  char *text = json_dumps(req, JSON_COMPACT);
  if (!text) {
    close(fd);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  size_t n = strlen(text);
  text[n] = '\n';
  size_t off = 0;
  while (off < n + 1) {
    ssize_t w = send(fd, text + off, n + 1 - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 1) continue;
    if (w <= 0) {
      free(text);
      close(fd);
      return am_fail(err, AM_EIO, "cannot talk to amicaled: %s", strerror(errno));
    }
    off += (size_t)w;
  }
  free(text);
  /* The answer grows as it comes (a status with thousands of peers is a
   * few MB), up to a bound. */
  size_t cap = 1 << 16, limit = 64u << 20, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  rc = AM_EIO;
  for (;;) {
    int w = wait_fd(fd, POLLIN, deadline);
    if (w <= 0) {
      if (w == 0) am_fail(err, AM_EIO, "amicaled did not answer within %d s", timeout_ms / 1000);
      else am_fail(err, AM_EIO, "cannot read amicaled's answer: %s", strerror(errno));
      break;
    }
    if (len + 1 >= cap) {
      char *nb = cap < limit ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        am_fail(err, AM_EIO, "amicaled's answer is too long");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      am_fail(err, AM_EIO, "amicaled closed the control connection without answering");
      break;
    }
    char *nl = memchr(buf + len, '\n', (size_t)r); /* only the new bytes */
    len += (size_t)r;
    if (!nl) continue;
    *nl = 0;
    json_error_t je;
    *resp = json_loads(buf, 0, &je);
    if (!*resp || !json_is_object(*resp)) {
      json_decref(*resp);
      *resp = NULL;
      am_fail(err, AM_EIO, "amicaled sent an answer that is not JSON");
      break;
    }
    if (json_is_true(json_object_get(*resp, "ok"))) {
      rc = 0;
    } else {
      const char *e = json_string_value(json_object_get(*resp, "error"));
      rc = am_fail(err, AM_EINVAL, "%s", e ? e : "amicaled refused the request");
    }
    break;
  }
  free(buf);
  close(fd);
  return rc;
}

void am_ctl_notify(const char *dir) {
  json_t *req = json_pack("{s:s}", "cmd", "notify");
  json_t *resp = NULL;
  am_error err = {0};
  if (req) am_ctl_call(dir, req, &resp, 10000, &err);
  json_decref(req);
  json_decref(resp);
}
