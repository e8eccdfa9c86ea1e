/* See log.h. Lines are written with one write(2) each, so lines of
 * concurrent writers (there are none today) would not interleave. */
#include "node/log.h"

#include "proto/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_level = AM_LOG_INFO;
static int journal = -1; /* unknown until the first line */

static const char *const names[] = {"error", "warn", "info", "debug"};

void am_log_init(int level) {
  log_level = level;
  journal = getenv("JOURNAL_STREAM") != NULL;
}

void am_log_set_level(int level) { log_level = level; }
int am_log_enabled(int level) { return level <= log_level; }

int am_log_level_parse(const char *s) {
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) return i;
  if (strcmp(s, "warning") == 0) return AM_LOG_WARN;
  return -1;
}

const char *am_log_level_name(int level) {
  return level >= 0 && level < 4 ? names[level] : "?";
}

void am_log(int level, const char *fmt, ...) {
  if (level > log_level) return;
  if (journal < 0) journal = getenv("JOURNAL_STREAM") != NULL;
  char line[2048];
  size_t n;
  if (journal) {
    static const int prio[] = {3, 4, 6, 7};
    n = (size_t)snprintf(line, sizeof line, "<%d>", prio[level]);
  } else {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03dZ %-5s ", (int)(tv.tv_usec / 1000),
                          names[level]);
  }
  char msg[1900];
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (m < 0) return;
  /* Text from the network (names, goodbyes) never reaches the log raw:
   * control characters and broken UTF-8 become '?'. */
  am_text_printable(msg, line + n, sizeof line - n - 1);
  n += strlen(line + n);
  line[n++] = '\n';
  ssize_t w = write(2, line, n);
  (void)w;
}
