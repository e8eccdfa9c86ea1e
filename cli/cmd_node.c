/* `amicale init`, `amicale id` and `amicale node ...`: creating a node,
 * showing who it is, and the description it announces of itself. */
#include <jansson.h>
#include <string.h>

#include "proto/ann_json.h"
#include "cli/cli.h"
#include "store/announcements.h"

int cmd_init(int argc, char **argv) {
  static const am_opt spec[] = {{"name", true}, {"kind", true}, {"map-size", true},
                                {"listen", true}, {"public-address", true}, {NULL, false}};
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
  /* Checked here too, so that the message names the option. */
  am_node_opts no = {.name = name, .kind = kind, .map_size = map,
                     .listen = am_args_get(&a, "listen"),
                     .public_address = am_args_get(&a, "public-address")};
  am_addr addr;
  am_error aerr = {0};
  if (no.listen && am_addr_parse_listen(no.listen, &addr, &aerr)) {
    am_error_prefix(&aerr, "--listen: ");
    return am_cli_fail(AM_EUSAGE, &aerr);
  }
  if (no.public_address && am_addr_parse(no.public_address, &addr, &aerr)) {
    am_error_prefix(&aerr, "--public-address: ");
    return am_cli_fail(AM_EUSAGE, &aerr);
  }

  char dir[4096];
  am_error err = {0};
  if ((rc = am_datadir_resolve(a.dir, dir, sizeof dir, &err))) return am_cli_fail(rc, &err);
  if ((rc = am_node_create_opts(dir, &no, &err))) return am_cli_fail(rc, &err);

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

/* ---- node: this node's own description ------------------------------------------------ */

typedef struct node_ctx {
  const am_node *n;
  const am_args *a;
  int64_t now;
  am_ann ann;
  bool have, changed;
  am_error *err;
} node_ctx;

static const struct { const char *opt; int field; } node_opts[] = {
  {"city", AM_NODE_CITY}, {"country", AM_NODE_COUNTRY}, {"website", AM_NODE_WEBSITE},
  {"contact", AM_NODE_CONTACT}, {"address", AM_NODE_ADDRESSES},
};

/* Publishes the node's description when it differs from the current one:
 * name and kind from amicale.conf, the rest from options or as before. */
static int node_fn(am_txn *t, void *arg) {
  node_ctx *c = arg;
  int rc;
  if (c->have) am_ann_free(&c->ann);
  c->have = c->changed = false;
  am_ann cur;
  bool have_cur = false;
  am_slot s;
  if (am_ann_slot_get(t, c->n->id.pk, AM_K_NODE, 0, &s) == 0 && s.state == AM_SLOT_LIVE) {
    if ((rc = am_ann_load(t, s.id, &cur, c->err))) return rc;
    have_cur = true;
  }
  am_ann_init(&c->ann, AM_K_NODE);
  c->have = true;
  for (size_t i = 0; have_cur && i < sizeof node_opts / sizeof *node_opts; i++) {
    am_buf v = {0};
    rc = am_ann_format(&cur, (uint32_t)node_opts[i].field, &v);
    if (!rc) rc = am_ann_set(&c->ann, (uint32_t)node_opts[i].field, v.data ? v.data : "", c->err);
    am_buf_free(&v);
    if (rc) goto out;
  }
  if ((rc = am_ann_set(&c->ann, AM_NODE_NAME, c->n->conf.name, c->err))) goto out;
  c->ann.body[AM_NODE_KIND] = (am_aval){.set = true, .u = (uint64_t)c->n->conf.kind};
  for (size_t i = 0; c->a && i < sizeof node_opts / sizeof *node_opts; i++) {
    const char *v = am_args_get(c->a, node_opts[i].opt);
    if (!v) continue;
    /* --address may repeat: the values add up (a list, as event --tag). */
    am_buf all = {0};
    for (int k = 0; node_opts[i].field == AM_NODE_ADDRESSES && k < c->a->nopts; k++)
      if (!strcmp(c->a->opts[k].name, "address") && *c->a->opts[k].value)
        am_buf_printf(&all, "%s%s", all.len ? "; " : "", c->a->opts[k].value);
    rc = am_ann_set(&c->ann, (uint32_t)node_opts[i].field, all.len ? all.data : v, c->err);
    am_buf_free(&all);
    if (rc) {
      /* A bad value is invalid data (exit 4), as for events and members. */
      am_error_prefix(c->err, "--%s: ", node_opts[i].opt);
      goto out;
    }
  }
  if (have_cur && am_ann_same_content(&cur, &c->ann)) {
    am_ann_free(&c->ann);
    c->ann = cur;
    have_cur = false;
    goto out;
  }
  rc = am_ann_publish(t, &c->ann, c->now, NULL, c->err);
  c->changed = rc == 0;
out:
  if (have_cur) am_ann_free(&cur);
  return rc;
}

int am_node_announce(am_node *n, am_error *err) {
  node_ctx c = {.n = n, .now = am_now(), .err = err};
  int rc = am_store_write(n->store, node_fn, &c, err);
  if (c.have) am_ann_free(&c.ann);
  return rc;
}

int cmd_node(int argc, char **argv) {
  static const am_opt spec[] = {{"city", true}, {"country", true}, {"website", true},
                                {"contact", true}, {"address", true}, {"json", false}, {NULL, false}};
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    printf("usage: amicale node COMMAND\n\n"
           "  show [--json]        what this node announces about itself\n"
           "  edit [--city C] [--country C] [--website URL] [--contact EMAIL] [--address HOST:PORT]\n"
           "                       change it (name and kind come from amicale.conf) and\n"
           "                       announce the new version\n");
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[0];
  argc--, argv++;
  bool edit = !strcmp(sub, "edit");
  if (!edit && strcmp(sub, "show"))
    return am_cli_usage("unknown command 'node %s' (see amicale node --help)", sub);
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("node %s takes options only", sub);
  if (!edit && a.nopts > (a.json ? 1 : 0)) return am_cli_usage("node show takes no field options (see node edit)");
  /* show also (re)announces: after a hand edit of amicale.conf the name
   * changed, and the description must follow. */
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  am_error err = {0};
  node_ctx c = {.n = &n, .a = edit ? &a : NULL, .now = am_now(), .err = &err};
  rc = am_store_write(n.store, node_fn, &c, &err);
  if (rc) {
    rc = am_cli_fail(rc, &err);
  } else if (a.json) {
    rc = am_print_json(stdout, am_ann_to_json(&c.ann));
  } else {
    const am_kind_desc *kd = &am_ann_kinds[AM_K_NODE];
    if (edit) printf("%s\n", c.changed ? "Node description announced (new version)." : "Nothing changed.");
    for (uint32_t f = 0; f < kd->nfields; f++) {
      am_buf v = {0};
      am_ann_format(&c.ann, f, &v);
      printf("  %-20s %s\n", kd->fields[f].label, v.data ? v.data : "");
      am_buf_free(&v);
    }
    printf("  %-20s %llu\n", "Version", (unsigned long long)c.ann.version);
    rc = EXIT_OK;
  }
  if (c.have) am_ann_free(&c.ann);
  am_node_close(&n);
  return rc;
}
