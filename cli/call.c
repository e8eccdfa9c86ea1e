/* Local or remote execution of the operations of store/api.h. */
#include "cli/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/remote.h"
#include "store/api.h"

typedef struct local_call {
  am_caller caller;
  const char *method;
  const json_t *params;
  json_t *result;
  am_error *err;
} local_call;

static int run_local(am_txn *t, void *arg) {
  local_call *c = arg;
  if (c->result) json_decref(c->result), c->result = NULL; /* a write that is run again */
  return am_api_call(t, &c->caller, c->method, c->params, (int64_t)time(NULL), &c->result, c->err);
}

int am_cli_call(const am_args *a, const char *method, json_t *params, json_t **result) {
  am_error err = {0};
  int rc;
  *result = NULL;
  if (!params) return am_cli_fail(AM_ENOMEM, &err);
  if (am_remote_mode(a)) {
    rc = am_remote_call(a, method, params, result, &err);
    json_decref(params);
    return rc ? am_cli_fail(rc, &err) : EXIT_OK;
  }
  bool writes = am_api_writes(method);
  am_node n;
  if ((rc = am_cli_open(a, &n, AM_NODE_STORE | AM_NODE_KEY | (writes ? 0 : AM_NODE_READ_ONLY)))) {
    json_decref(params);
    /* Most likely a member on their own computer who has not logged in. */
    if (rc == EXIT_NOTFOUND && !a->dir && !getenv("AMICALE_DIR") && !getenv("AMICALE_HOME"))
      fprintf(stderr, "amicale: members: run `amicale login CODE` first, with the code your alumni office gave you\n");
    return rc;
  }
  /* A store from before the catalog (format 4) gets it on its first write
   * open: upgrade now rather than answer from a partial picture. */
  if (!writes && !am_store_has_catalog(n.store)) {
    am_node_close(&n);
    if ((rc = am_cli_open(a, &n, AM_NODE_STORE | AM_NODE_KEY))) {
      json_decref(params);
      return rc;
    }
  }
  local_call c = {.caller = {.viewer = AM_VIEWER_MANAGER, .node_name = n.conf.name,
                             .node_kind = n.conf.kind},
                  .method = method, .params = params, .err = &err};
  memcpy(c.caller.node_key, n.id.pk, sizeof c.caller.node_key);
  /* The directory tells this node's own profiles by the signer's key. */
  am_store_set_signer(n.store, &n.id);
  rc = writes ? am_store_write(n.store, run_local, &c, &err) : am_store_read(n.store, run_local, &c, &err);
  am_node_close(&n);
  json_decref(params);
  if (rc) {
    if (c.result) json_decref(c.result);
    return am_cli_fail(rc, &err);
  }
  *result = c.result;
  return EXIT_OK;
}
