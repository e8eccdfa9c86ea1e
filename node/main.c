/* amicaled: the Amicale node daemon. Runs in the foreground (systemd, a
 * terminal, a container), logs to stderr, stops cleanly on SIGTERM/SIGINT
 * and re-reads its configuration and peers on SIGHUP. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/log.h"
#include "node/node.h"
#include "proto/address.h"
#include "store/datadir.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: amicaled [--dir D] [--listen HOST:PORT] [--log-level LEVEL]\n"
          "\n"
          "Runs the Amicale node of data directory D (as `amicale`: --dir, else\n"
          "$AMICALE_DIR, $AMICALE_HOME, $XDG_DATA_HOME/amicale, ~/.local/share/amicale).\n"
          "\n"
          "  --listen HOST:PORT   where to accept peers (default: [network] listen in\n"
          "                       amicale.conf, else *:7400; port 0 picks a free port)\n"
          "  --log-level LEVEL    error, warn, info (default) or debug\n"
          "  --version            print the version\n"
          "\n"
          "Stops on SIGTERM or SIGINT (goodbye to peers, then exit 0); SIGHUP re-reads\n"
          "amicale.conf and the peer list. The CLI talks to it through DIR/control.sock:\n"
          "`amicale status`.\n");
}

int main(int argc, char **argv) {
  const char *dir = NULL, *listen = NULL, *level = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = NULL;
    const char *names[] = {"--dir", "--listen", "--log-level"};
    const char **dest[] = {&dir, &listen, &level};
    bool matched = false;
    for (int k = 0; k < 3 && !matched; k++) {
      size_t n = strlen(names[k]);
      if (strncmp(a, names[k], n) == 0 && (a[n] == 0 || a[n] == '=')) {
        matched = true;
        if (a[n] == '=') v = a + n + 1;
        else if (i + 1 < argc) v = argv[++i];
        else {
          fprintf(stderr, "amicaled: %s needs a value\n", names[k]);
          return 2;
        }
        *dest[k] = v;
      }
    }
    if (matched) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(a, "--version") == 0) {
      printf("amicaled %s\n", AMICALE_VERSION);
      return 0;
    }
    fprintf(stderr, "amicaled: unknown argument \"%s\"\n\n", a);
    usage(stderr);
    return 2;
  }
  int lv = AM_LOG_INFO;
  if (level && (lv = am_log_level_parse(level)) < 0) {
    fprintf(stderr, "amicaled: --log-level must be error, warn, info or debug, not \"%s\"\n",
            level);
    return 2;
  }
  am_log_init(lv);
  am_error err = {0};
  if (listen) {
    am_addr a;
    if (am_addr_parse_listen(listen, &a, &err)) {
      fprintf(stderr, "amicaled: --listen: %s\n", err.msg);
      return 2;
    }
  }
  char resolved[4096];
  int rc = am_datadir_resolve(dir, resolved, sizeof resolved, &err);
  if (rc) {
    am_error_log("%s", am_error_text(&err, rc));
    return 1;
  }
  /* A peer that closes while we write must not kill the process. */
  signal(SIGPIPE, SIG_IGN);
  am_daemon_opts o = {.dir = resolved, .listen = listen};
  rc = am_daemon_run(&o, &err);
  if (rc) {
    am_error_log("%s", am_error_text(&err, rc));
    return rc == AM_ENOTFOUND ? 3 : rc == AM_EEXIST ? 5 : 1;
  }
  return 0;
}
