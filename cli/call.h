/* The query and `me` commands run an operation of store/api.h either on
 * the local store as the alumni manager, or on the member's node (member
 * mode, cli/remote.h). One printing path for both. */
#ifndef AMICALE_CLI_CALL_H
#define AMICALE_CLI_CALL_H

#include <jansson.h>

#include "cli/cli.h"

/* Options every calling command accepts (besides its own): --node. */
#define AM_CALL_OPTS {"node", true}

/* Runs method with params (stolen: decref'd here). On success *result is a
 * new reference and EXIT_OK is returned; otherwise the error is printed
 * and the exit status returned. */
int am_cli_call(const am_args *a, const char *method, json_t *params, json_t **result);

#endif
