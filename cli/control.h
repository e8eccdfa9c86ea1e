/* The CLI's side of the control socket (node/control.c): one JSON request,
 * one JSON answer, over DIR/control.sock, with plain blocking sockets (the
 * CLI has no event loop). */
#ifndef AMICALE_CLI_CONTROL_H
#define AMICALE_CLI_CONTROL_H

#include <jansson.h>

#include "proto/error.h"

/* Sends req (not consumed) to the amicaled of the node in dir and waits up
 * to timeout_ms for its answer (*resp, to json_decref). Errors:
 *   AM_ENOTFOUND  no daemon runs for dir (the message says how to start it);
 *   AM_EIO        the socket failed or the answer did not come in time;
 *   AM_EINVAL     the daemon answered "ok": false (err has its sentence;
 *                 *resp is still set). */
int am_ctl_call(const char *dir, json_t *req, json_t **resp, int timeout_ms, am_error *err);

/* Tells a running daemon that the store changed (new announcements, peers):
 * best effort, silent when no daemon runs. */
void am_ctl_notify(const char *dir);

#endif
