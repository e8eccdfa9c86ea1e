/* `amicale init` and `amicale id`: creating a node and showing who it is. */
#include <jansson.h>
#include <string.h>

#include "cli/cli.h"

int cmd_init(int argc, char **argv) {
  static const am_opt spec[] = {{"name", true}, {"kind", true}, {"map-size", true}, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("init takes no argument '%s' (did you mean --name?)", a.pos[0]);
  const char *name = am_args_get(&a, "name");
  const char *kind_s = am_args_get(&a, "kind");
  if (!name || !kind_s)
    return am_cli_usage("usage: amicale init --name \"École Exemple\" --kind school|company|association|federation [--dir D]");
  int kind = am_kind_parse(kind_s);
  if (kind < 0)
    return am_cli_usage("--kind '%s' is not one of school, company, association, federation", kind_s);
  size_t map = 0;
  const char *ms = am_args_get(&a, "map-size");
  if (ms && (am_size_parse(ms, &map) || map < (1 << 20)))
    return am_cli_usage("--map-size '%s' is not a size of at least 1M (e.g. 64M, 1G)", ms);

  char dir[4096];
  am_error err = {0};
  if ((rc = am_datadir_resolve(a.dir, dir, sizeof dir, &err))) return am_cli_fail(rc, &err);
  if ((rc = am_node_create(dir, name, kind, map, &err))) return am_cli_fail(rc, &err);

  am_node n;
  if ((rc = am_node_open(&n, dir, AM_NODE_KEY | AM_NODE_STORE, &err))) return am_cli_fail(rc, &err);
  /* The node's first announcement: who it is (a later `amicale node edit`
   * adds its city, website, contact...). */
  am_store_set_signer(n.store, &n.id);
  if ((rc = am_node_announce(&n, &err))) {
    am_node_close(&n);
    return am_cli_fail(rc, &err);
  }
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(n.id.pk, key);
  printf("Created node \"%s\" (%s) in %s\n", n.conf.name, am_kind_name(n.conf.kind), dir);
  printf("Node key: %s\n", key);
  printf("Next: import your members with `amicale member import FILE.csv`.\n");
  am_node_close(&n);
  return EXIT_OK;
}

int cmd_id(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("id takes no argument");
  if ((rc = am_cli_open(&a, &n, AM_NODE_KEY))) return rc;
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(n.id.pk, key);
  if (a.json) {
    rc = am_print_json(stdout, json_pack("{s:s, s:s, s:s, s:s}", "key", key, "name", n.conf.name,
                                         "kind", am_kind_name(n.conf.kind), "dir", n.dir));
  } else {
    printf("%s\n%s (%s)\n", key, n.conf.name, am_kind_name(n.conf.kind));
    rc = EXIT_OK;
  }
  am_node_close(&n);
  return rc;
}
