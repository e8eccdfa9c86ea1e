/* The amicaled daemon as a library call, so that tests and benchmarks can
 * run it in-process as well as main.c does. */
#ifndef AMICALE_NODE_NODE_H
#define AMICALE_NODE_NODE_H

#include "proto/error.h"

typedef struct am_daemon_opts {
  const char *dir;    /* resolved data directory */
  const char *listen; /* overrides [network] listen when not NULL */
} am_daemon_opts;

/* Runs the node until SIGTERM/SIGINT: 0 after a clean stop, or a negative
 * code when it cannot start (err says why: no node, port in use, already
 * running, ...). */
int am_daemon_run(const am_daemon_opts *o, am_error *err);

#endif
