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

static int connect_to(const char *dir, int *fd_out, am_error *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/control.sock", dir);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path)
    return am_fail(err, AM_EIO, "the data directory path is too long for a control socket");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return am_fail(err, AM_EIO, "cannot create a socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
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
  int fd = -1, rc = connect_to(dir, &fd, err);
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
    if (w <= 0) {
      free(text);
      close(fd);
      return am_fail(err, AM_EIO, "cannot talk to amicaled: %s", strerror(errno));
    }
    off += (size_t)w;
  }
  free(text);
  size_t cap = 1 << 20; /* a status with hundreds of peers fits */
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return am_fail(err, AM_ENOMEM, "out of memory");
  }
  size_t len = 0;
  long long deadline = now_ms() + timeout_ms;
  rc = AM_EIO;
  while (len < cap - 1) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      am_fail(err, AM_EIO, "amicaled did not answer within %d s", timeout_ms / 1000);
      break;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      am_fail(err, AM_EIO, "amicaled closed the control connection without answering");
      break;
    }
    len += (size_t)r;
    char *nl = memchr(buf, '\n', len);
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
  if (len >= cap - 1) am_fail(err, AM_EIO, "amicaled's answer is too long");
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
