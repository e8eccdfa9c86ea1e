/* `amicale trust ...`: the origins whose announcements this node accepts. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/member_json.h"
#include "proto/text.h"
#include "store/announcements.h"

/* ---- trust ------------------------------------------------------------------------- */

typedef struct trust_ctx {
  am_trust tr;
  bool has_name; /* --name given */
  bool existed;
  uint64_t deleted;
  const am_args *a;
  json_t *arr;
  size_t count;
  am_error *err;
} trust_ctx;

static int trust_add_fn(am_txn *t, void *arg) {
  trust_ctx *c = arg;
  /* Adding a trusted key again without --name keeps its name. */
  am_trust old;
  if (!c->has_name && am_trust_get(t, c->tr.key, &old) == 0)
    memcpy(c->tr.name, old.name, sizeof c->tr.name);
  return am_trust_add(t, &c->tr, &c->existed, c->err);
}

static int trust_remove_fn(am_txn *t, void *arg) {
  trust_ctx *c = arg;
  return am_trust_remove(t, c->tr.key, &c->deleted, c->err);
}

static int trust_print(const am_trust *tr, void *arg) {
  trust_ctx *c = arg;
  char key[AM_PUBKEY_TEXT_LEN + 1], when[21];
  am_pubkey_to_text(tr->key, key);
  am_time_format(tr->added, when);
  if (c->arr) json_array_append_new(c->arr, json_pack("{s:s, s:s, s:s}", "key", key, "name", tr->name, "added", when));
  else printf("%s  %s  (since %.10s)\n", key, tr->name[0] ? tr->name : "-", when);
  c->count++;
  return 0;
}

static int trust_list_fn(am_txn *t, void *arg) {
  trust_ctx *c = arg;
  return am_trust_each(t, trust_print, c, c->err);
}

int cmd_trust(int argc, char **argv) {
  static const am_opt spec[] = {{"name", true}, {"json", false}, {NULL, false}};
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    printf("usage: amicale trust COMMAND\n\n"
           "  add KEY [--name NAME]   accept announcements signed by that node key\n"
           "  list [--json]           the trusted origins\n"
           "  remove KEY              stop trusting it and delete what it announced\n"
           "\nKEY is the 43-character key `amicale id` prints on the other node.\n");
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[0];
  argc--, argv++;
  /* A key is base64url: one in 64 starts with '-' and would read as an
   * option. An argument that is a whole key (and not the value of --name
   * or --dir) is the KEY operand, moved after a "--". */
  static char *moved[AM_ARGS_MAX + 2];
  for (int i = 0; i < argc && argc < AM_ARGS_MAX && strcmp(argv[i], "--"); i++) {
    uint8_t k[AM_ANN_KEY_BYTES];
    am_error kerr = {0};
    if (argv[i][0] != '-' || strlen(argv[i]) != AM_PUBKEY_TEXT_LEN ||
        (i > 0 && (!strcmp(argv[i - 1], "--name") || !strcmp(argv[i - 1], "--dir"))) ||
        am_pubkey_from_text(argv[i], k, &kerr))
      continue;
    int m = 0;
    for (int x = 0; x < argc; x++)
      if (x != i) moved[m++] = argv[x];
    moved[m++] = "--";
    moved[m++] = argv[i];
    argv = moved, argc = m;
    break;
  }
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  am_error err = {0};
  trust_ctx c = {.a = &a, .err = &err};
  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) {
    if (a.npos) return am_cli_usage("usage: amicale trust list [--json]");
    if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY))) return rc;
    if (a.json) c.arr = json_array();
    rc = am_store_read(n.store, trust_list_fn, &c, &err);
    am_node_close(&n);
    if (rc) { json_decref(c.arr); return am_cli_fail(rc, &err); }
    if (a.json) return am_print_json(stdout, c.arr);
    if (!c.count) printf("No trusted origins yet: add one with `amicale trust add KEY --name NAME`.\n");
    return EXIT_OK;
  }
  bool add = !strcmp(sub, "add");
  if (!add && strcmp(sub, "remove") && strcmp(sub, "rm"))
    return am_cli_usage("unknown command 'trust %s' (see amicale trust --help)", sub);
  if (a.npos != 1) return am_cli_usage("usage: amicale trust %s KEY%s", add ? "add" : "remove", add ? " [--name NAME]" : "");
  if (am_pubkey_from_text(a.pos[0], c.tr.key, &err)) return am_cli_fail(AM_EUSAGE, &err);
  const char *name = am_args_get(&a, "name");
  if (name) {
    char *clean = NULL;
    if (am_text_clean(name, strlen(name), AM_TRUST_NAME_MAX, 0, &clean, &err)) {
      am_error_prefix(&err, "--name: ");
      return am_cli_fail(AM_EUSAGE, &err);
    }
    snprintf(c.tr.name, sizeof c.tr.name, "%s", clean);
    free(clean);
    c.has_name = true;
  }
  c.tr.added = am_now();
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  if (add && memcmp(c.tr.key, n.id.pk, AM_ANN_KEY_BYTES) == 0) {
    am_node_close(&n);
    return am_cli_usage("that is this node's own key (it is always trusted)");
  }
  rc = am_store_write(n.store, add ? trust_add_fn : trust_remove_fn, &c, &err);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(c.tr.key, key);
  if (add)
    printf("%s %s%s%s%s\n", !c.existed ? "Trusted:" : c.has_name ? "Already trusted, renamed:" : "Already trusted:", key,
           c.tr.name[0] ? " (" : "", c.tr.name, c.tr.name[0] ? ")" : "");
  else
    printf("No longer trusted: %s (%llu announcement%s deleted)\n", key,
           (unsigned long long)c.deleted, c.deleted == 1 ? "" : "s");
  return EXIT_OK;
}

