/* Member mode client (see remote.h). */
#include "cli/remote.h"

#include <stdlib.h>

bool am_remote_mode(const am_args *a) { return am_args_has(a, "node"); }

int am_remote_call(const am_args *a, const char *method, const json_t *params, json_t **result,
                   am_error *err) {
  (void)a, (void)method, (void)params;
  *result = NULL;
  return am_fail(err, AM_EINTERNAL, "member mode is not written yet");
}
