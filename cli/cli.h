/* The `amicale` command line: shared pieces of the commands (argument
 * parsing, opening the node, output, exit statuses). Each command is a
 * function `int cmd_x(int argc, char **argv)` returning an exit status. */
#ifndef AMICALE_CLI_CLI_H
#define AMICALE_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "proto/error.h"
#include "store/datadir.h"
#include "store/peers.h"
#include "store/search.h"

/* Exit statuses, documented in the README. */
enum {
  EXIT_OK = 0,
  EXIT_INTERNAL = 1, /* internal failure (I/O, out of memory, bug) */
  EXIT_USAGE = 2,    /* bad command line */
  EXIT_NOTFOUND = 3, /* no such member / no node */
  EXIT_INVALID = 4,  /* invalid data (input file, damaged store, bad value) */
  EXIT_EXISTS = 5,   /* already exists (node, email address) */
};

int am_cli_exit_code(int rc);

/* Prints "amicale: <message>" on stderr and returns the exit status. */
int am_cli_fail(int rc, const am_error *err);
int am_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- arguments -------------------------------------------------------- */

#define AM_ARGS_MAX 256

typedef struct am_opt {
  const char *name; /* without the leading "--" */
  bool has_arg;
} am_opt;

typedef struct am_args {
  const char *pos[AM_ARGS_MAX];
  int npos;
  struct { const char *name, *value; } opts[AM_ARGS_MAX];
  int nopts;
  const char *dir; /* --dir, accepted by every command */
  bool json;       /* --json, where the command has it */
} am_args;

/* Parses argv[0..argc) against spec (terminated by {NULL}); "--opt=value"
 * and "--opt value" both work, "--" ends options. Returns 0 or prints a
 * usage error and returns EXIT_USAGE. */
int am_args_parse(int argc, char **argv, const am_opt *spec, am_args *a);
const char *am_args_get(const am_args *a, const char *name); /* last value */
bool am_args_has(const am_args *a, const char *name);
/* Parses a non-negative integer option; EXIT_USAGE on error. */
int am_args_size(const am_args *a, const char *name, size_t def, size_t *out);

/* Opens the node chosen by --dir / the environment. */
int am_cli_open(const am_args *a, am_node *n, int flags);
/* The data directory a command opened for writing, or NULL: after such a
 * command succeeds, main() tells a running amicaled (new announcements to
 * send, peers to reload). */
const char *am_cli_written_dir(void);

/* ---- output ----------------------------------------------------------- */

/* The member list as an aligned table (terminal width aware). */
void am_print_table(FILE *out, const am_member *v, size_t n);
/* Prints s padded to width terminal cells (two spaces of gap unless last),
 * cut with "…" when longer. */
void am_print_cell(FILE *out, const char *s, size_t width, bool last);
/* 1000-based, as people read sizes: "0 B", "950 B", "1.2 kB", "34 MB". */
void am_human_bytes(uint64_t v, char out[static 16]);
/* One member, field by field, with visibility. */
void am_print_member(FILE *out, const am_member *m);
/* Opens path for writing personal data: created with mode 0600 (an
 * existing file is truncated and keeps its mode), never through a symbolic
 * link. NULL after printing why. */
FILE *am_cli_private_file(const char *path);
/* Prints a JSON value (then decref's it); returns an exit status. */
int am_print_json(FILE *out, void *json);

/* ---- search filters shared by search and export ----------------------- */

extern const am_opt am_search_opts[];
/* "2010", "2010-2015", "2010-", "-2015": 0 for an open end; -1 when malformed. */
int am_promo_parse(const char *s, uint32_t *lo, uint32_t *hi);
/* Fills q from the parsed arguments (and free text from positionals
 * starting at pos_from, joined into textbuf). EXIT_USAGE on error. */
int am_query_from_args(const am_args *a, int pos_from, am_query *q,
                       char *textbuf, size_t textlen);

/* ---- commands ---------------------------------------------------------- */

int cmd_init(int argc, char **argv);
int cmd_id(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_member_import(int argc, char **argv);
int cmd_member_export(int argc, char **argv);
int cmd_event(int argc, char **argv);
int cmd_job(int argc, char **argv);
int cmd_announcement(int argc, char **argv);
int cmd_trust(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_peer(int argc, char **argv);   /* cli/cmd_peer.c */
int cmd_invite(int argc, char **argv); /* cli/cmd_peer.c */
int cmd_status(int argc, char **argv); /* cli/cmd_daemon.c */
/* Queries across the federation (cli/cmd_query.c), locally or in member mode. */
int cmd_search(int argc, char **argv);
int cmd_mentors(int argc, char **argv);
int cmd_events_query(int argc, char **argv);
int cmd_jobs_query(int argc, char **argv);
int cmd_events_export(int argc, char **argv);
int cmd_digest(int argc, char **argv);
/* A member's own record (cli/cmd_me.c), in member mode. */
int cmd_me(int argc, char **argv);
/* `amicale invite accept CODE`: asks the running daemon (cli/cmd_daemon.c). */
int cmd_invite_accept(int argc, char **argv);

/* ---- peers (cli/cmd_peer.c) --------------------------------------------- */

/* What the running daemon knows of a peer and the store does not (filled
 * from amicaled's answer; `peer list` without a daemon passes NULL). */
typedef struct am_peer_live {
  bool known;            /* false: the daemon said nothing about this peer */
  char state[32];        /* "connected", "connecting", "waiting", ... */
  int64_t since;         /* when it entered that state (0: unknown) */
  am_peer_stats unsaved; /* counted since the daemon last wrote the store:
                            added to the stored counters, newer times win */
  char sync[16];         /* "in sync", "syncing", "behind"; "" when not connected */
  int64_t last_sync;     /* the last reconciliation (0: none since the daemon started) */
} am_peer_live;

/* The peer table (v[0..n), live NULL or one entry per peer, now for "3 min
 * ago"): aligned, terminal-width aware. */
void am_print_peers(FILE *out, const am_peer *v, const am_peer_live *live, size_t n,
                    int64_t now);
/* The same as a JSON array; trusted (may be NULL) says, per peer, whether
 * its key is in the trust list. */
void *am_peers_json(const am_peer *v, const am_peer_live *live, const bool *trusted,
                    size_t n);

/* Announces the node's description (name and kind from amicale.conf) when
 * it differs from the one held; used by init. */
int am_node_announce(am_node *n, am_error *err);

/* The importer, as the benchmark drives it. */
typedef struct am_import_opts {
  const char *path;
  const char *encoding;  /* NULL: detect */
  char separator;        /* 0: detect */
  const char *map;       /* "Header=field,..." */
  int on_duplicate;      /* AM_DUP_* */
  bool strict, dry_run;
  size_t batch;          /* rows per transaction */
  bool progress;         /* draw a progress bar on stderr */
  FILE *report;          /* where row errors and the summary go (NULL: quiet) */
} am_import_opts;

enum { AM_DUP_UPDATE, AM_DUP_SKIP, AM_DUP_ERROR };

typedef struct am_import_stats {
  size_t rows, added, updated, skipped, errors;
  const char *encoding;
  char separator;
} am_import_stats;

int am_import(am_store *s, const am_import_opts *o, am_import_stats *st,
              am_error *err);

#endif
