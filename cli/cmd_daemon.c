/* The commands that talk to the running amicaled through its control
 * socket (cli/control.h): `amicale status` and `amicale invite accept`.
 * Without a daemon they say so (exit 3) and how to start it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/control.h"
#include "proto/text.h"

static long long jint(json_t *o, const char *k) {
  return (long long)json_integer_value(json_object_get(o, k));
}

/* A text of the answer, made printable: names, errors and software come
 * from other nodes and may carry terminal escapes. Up to 4 at a time. */
static const char *jstr(json_t *o, const char *k) {
  static char bufs[4][1024];
  static int next;
  const char *s = json_string_value(json_object_get(o, k));
  char *b = bufs[next++ % 4];
  return am_text_printable(s ? s : "", b, sizeof bufs[0]);
}

static void duration(char *out, size_t n, long long s) {
  if (s < 60) snprintf(out, n, "%lld s", s);
  else if (s < 3600) snprintf(out, n, "%lld min", s / 60);
  else if (s < 86400) snprintf(out, n, "%lld h %lld min", s / 3600, s % 3600 / 60);
  else snprintf(out, n, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

int cmd_status(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "help"))) {
    printf("usage: amicale status [--json]\n\n"
           "What the running amicaled of this node is doing: its key, uptime, listening\n"
           "address, each peer's connection state and traffic, and counters.\n");
    return EXIT_OK;
  }
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("usage: amicale status [--json]");
  char dir[4096];
  am_error err = {0};
  if ((rc = am_datadir_resolve(a.dir, dir, sizeof dir, &err))) return am_cli_fail(rc, &err);
  json_t *req = json_pack("{s:s}", "cmd", "status"), *r = NULL;
  rc = am_ctl_call(dir, req, &r, 10000, &err);
  json_decref(req);
  if (rc) {
    json_decref(r);
    return am_cli_fail(rc, &err);
  }
  if (a.json) return am_print_json(stdout, r);
  char up[64];
  duration(up, sizeof up, jint(r, "uptime_s"));
  json_t *peers = json_object_get(r, "peers");
  printf("Node       %s\n", jstr(r, "name"));
  printf("Key        %s\n", jstr(r, "key"));
  printf("Daemon     running for %s (amicaled %s, pid %lld)\n", up, jstr(r, "version"),
         jint(r, "pid"));
  printf("Listening  %s\n", jstr(r, "listen"));
  printf("Peers      %lld connected of %zu\n", jint(r, "peers_connected"),
         json_array_size(peers));
  json_t *c = json_object_get(r, "counters");
  char in[16], out[16];
  am_human_bytes((uint64_t)jint(c, "bytes_in"), in);
  am_human_bytes((uint64_t)jint(c, "bytes_out"), out);
  printf("Traffic    %s in, %s out; announcements %lld in (%lld refused, of which %lld from "
         "origins this node does not trust), %lld out\n",
         in, out, jint(c, "announcements_in"), jint(c, "announcements_refused"),
         jint(c, "announcements_untrusted"), jint(c, "announcements_out"));
  printf("Handshakes %lld completed, %lld failed; refused connections: %lld over the rate "
         "limit, %lld over the connection limit\n",
         jint(c, "handshakes_ok"), jint(c, "handshakes_failed"), jint(c, "refused_rate_limit"),
         jint(c, "refused_connection_limit"));
  if (json_array_size(peers)) {
    printf("\n");
    size_t i;
    json_t *p;
    time_t now = time(NULL);
    json_array_foreach(peers, i, p) {
      const char *name = jstr(p, "name");
      printf("%s%s%s\n", name[0] ? name : jstr(p, "key"), name[0] ? "  " : "",
             name[0] ? jstr(p, "key") : "");
      char extra[200] = "";
      if (json_object_get(p, "connected_since")) {
        char d[64];
        duration(d, sizeof d, (long long)now - jint(p, "connected_since"));
        snprintf(extra, sizeof extra, " for %s, %s", d, jstr(p, "direction"));
        if (json_object_get(p, "rtt_ms"))
          snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ", round trip %lld ms",
                   jint(p, "rtt_ms"));
      } else if (json_object_get(p, "retry_in_s")) {
        snprintf(extra, sizeof extra, ", next attempt in %lld s", jint(p, "retry_in_s"));
      }
      printf("  state    %s%s\n", jstr(p, "state"), extra);
      printf("  address  %s\n", jstr(p, "address")[0] ? jstr(p, "address")
                                                     : "(none: it connects to us)");
      am_human_bytes((uint64_t)jint(p, "bytes_in"), in);
      am_human_bytes((uint64_t)jint(p, "bytes_out"), out);
      printf("  traffic  %s in, %s out; announcements %lld in (%lld refused), %lld out\n", in,
             out, jint(p, "announcements_in"), jint(p, "announcements_refused"),
             jint(p, "announcements_out"));
      if (jstr(p, "sync")[0] || json_object_get(p, "last_sync")) {
        char d[64] = "never";
        if (json_object_get(p, "last_sync")) {
          char ago[48];
          duration(ago, sizeof ago, (long long)now - jint(p, "last_sync"));
          snprintf(d, sizeof d, "%s ago", ago);
        }
        printf("  sync     %s; last reconciliation %s\n",
               jstr(p, "sync")[0] ? jstr(p, "sync") : "not connected", d);
      }
      if (jstr(p, "last_error")[0]) {
        char d[64];
        duration(d, sizeof d, (long long)now - jint(p, "last_error_at"));
        printf("  error    %s (%s ago)\n", jstr(p, "last_error"), d);
      }
    }
  }
  json_decref(r);
  return EXIT_OK;
}

int cmd_invite_accept(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1)
    return am_cli_usage("usage: amicale invite accept CODE (the code the other node's "
                        "administrator gave you)");
  char dir[4096];
  am_error err = {0};
  if ((rc = am_datadir_resolve(a.dir, dir, sizeof dir, &err))) return am_cli_fail(rc, &err);
  json_t *req = json_pack("{s:s, s:s}", "cmd", "invite-accept", "code", a.pos[0]), *r = NULL;
  /* The daemon answers once the other node has let us in or refused. */
  rc = am_ctl_call(dir, req, &r, 30000, &err);
  json_decref(req);
  if (rc) {
    json_decref(r);
    if (rc == AM_EINVAL) am_error_prefix(&err, "invitation refused: ");
    return am_cli_fail(rc, &err);
  }
  if (a.json) return am_print_json(stdout, r);
  printf("Connected to %s (%s) at %s.\nIt is now a peer of this node, and each trusts the "
         "other's announcements.\n",
         jstr(r, "name"), jstr(r, "key"), jstr(r, "address"));
  json_decref(r);
  return EXIT_OK;
}
