/* Member mode: the CLI on a member's own computer, talking to their
 * school's node over the encrypted transport in the client role
 * (docs/PROTOCOL.md section 16). `amicale login CODE` creates the member's
 * key pair and configuration; afterwards the query and `me` commands run
 * on the node.
 *
 * The member configuration lives in $AMICALE_MEMBER_DIR, else
 * $XDG_CONFIG_HOME/amicale, else ~/.config/amicale: member.conf (the
 * node's address and key, the member's id and institution) and member.key
 * (the member's Ed25519 secret key, mode 0600). */
#ifndef AMICALE_CLI_REMOTE_H
#define AMICALE_CLI_REMOTE_H

#include <jansson.h>

#include "cli/cli.h"

/* Whether a command runs in member mode: --node given, or no data
 * directory chosen (--dir, $AMICALE_DIR, $AMICALE_HOME) and a member
 * configuration exists. */
bool am_remote_mode(const am_args *a);

/* Runs method on the member's node (--node HOST:PORT overrides the
 * configured address). *result: a new reference. Errors: AM_EUSAGE (the
 * node refused the request: err has its sentence), AM_ENOTFOUND (no
 * member configuration: "run amicale login CODE first"), AM_EIO (cannot
 * reach the node, refused key, rate limited: err says which). */
int am_remote_call(const am_args *a, const char *method, const json_t *params, json_t **result,
                   am_error *err);

/* Logs the member out: deletes member.conf and wipes member.key (after
 * `me erase`, and for `amicale logout`). */
void am_remote_forget(void);

/* `amicale login CODE [--json] [--node HOST:PORT]` and `amicale logout`. */
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);

#endif
