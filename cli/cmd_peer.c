/* `amicale peer ...` and `amicale invite ...`: the nodes this node
 * exchanges with, and the invitation codes that let another node in. Both
 * only change the store (one write transaction per command, so a refusal
 * changes nothing); the daemon, amicaled, reads them to connect. `invite
 * accept` talks to the daemon and lives with it (cli/cmd_daemon.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/control.h"
#include "crypto/invite.h"
#include "proto/member_json.h" /* am_time_format */
#include "proto/text.h"
#include "store/announcements.h"

/* ---- shared pieces -------------------------------------------------------- */

/* A key is base64url: one in 64 starts with '-' and would read as an
 * option. An argument that is a whole key (and not the value of an option
 * that takes one) is moved after a "--". argv is replaced when it moves. */
static void protect_key_operand(int *argc, char ***argv, const am_opt *spec) {
  static char *moved[AM_ARGS_MAX + 2];
  for (int i = 0; i < *argc && *argc < AM_ARGS_MAX; i++) {
    char *arg = (*argv)[i];
    if (!strcmp(arg, "--")) return;
    uint8_t k[AM_PUBKEY_BYTES];
    if (arg[0] != '-' || strlen(arg) != AM_PUBKEY_TEXT_LEN || am_pubkey_from_text(arg, k, NULL))
      continue;
    bool is_value = false;
    if (i > 0 && !strncmp((*argv)[i - 1], "--", 2)) {
      const char *prev = (*argv)[i - 1] + 2;
      if (!strcmp(prev, "dir")) is_value = true;
      for (const am_opt *o = spec; o->name; o++)
        if (o->has_arg && !strcmp(prev, o->name)) is_value = true;
    }
    if (is_value) continue;
    int m = 0;
    for (int x = 0; x < *argc; x++)
      if (x != i) moved[m++] = (*argv)[x];
    moved[m++] = "--";
    moved[m++] = arg;
    *argv = moved, *argc = m;
    return;
  }
}

/* "3 min ago", "never". */
static void time_ago(int64_t t, int64_t now, char out[static 32]) {
  if (t <= 0) {
    strcpy(out, "never");
    return;
  }
  int64_t d = now - t;
  if (d < 60) strcpy(out, "just now"); /* (or a clock a little ahead) */
  else if (d < 3600) snprintf(out, 32, "%lld min ago", (long long)(d / 60));
  else if (d < 48 * 3600) snprintf(out, 32, "%lld h ago", (long long)(d / 3600));
  else snprintf(out, 32, "%lld days ago", (long long)(d / 86400));
}

static const char *const via_names[AM_PEER_VIA__COUNT] = {
    [AM_PEER_VIA_HAND] = "added", [AM_PEER_VIA_INVITED] = "invited",
    [AM_PEER_VIA_ACCEPTED] = "accepted-invitation"};

/* The stored statistics with what the daemon has not written yet. */
static am_peer_stats merged(const am_peer *p, const am_peer_live *l) {
  am_peer_stats s = p->stats;
  if (!l || !l->known) return s;
  s.bytes_in += l->unsaved.bytes_in, s.bytes_out += l->unsaved.bytes_out;
  s.ann_in += l->unsaved.ann_in, s.ann_out += l->unsaved.ann_out;
  s.connects += l->unsaved.connects;
  if (l->unsaved.last_seen > s.last_seen) s.last_seen = l->unsaved.last_seen;
  if (l->unsaved.last_connected > s.last_connected) s.last_connected = l->unsaved.last_connected;
  return s;
}

static const char *state_of(const am_peer *p, const am_peer_live *l) {
  if (p->blocked) return "blocked";
  if (l && l->known && l->state[0]) return l->state;
  return NULL;
}

/* What the running daemon says of each peer (NULL when none runs). */
static am_peer_live *live_state(const char *dir, const am_peer *v, size_t n) {
  json_t *req = json_pack("{s:s}", "cmd", "status"), *r = NULL;
  am_error err = {0};
  int rc = am_ctl_call(dir, req, &r, 5000, &err);
  json_decref(req);
  if (rc) {
    json_decref(r);
    return NULL;
  }
  am_peer_live *live = calloc(n ? n : 1, sizeof *live);
  json_t *peers = json_object_get(r, "peers"), *p;
  size_t i;
  json_array_foreach(peers, i, p) {
    const char *key = json_string_value(json_object_get(p, "key"));
    uint8_t k[AM_PUBKEY_BYTES];
    if (!key || !live || am_pubkey_from_text(key, k, NULL)) continue;
    for (size_t j = 0; j < n; j++) {
      if (memcmp(v[j].key, k, AM_PUBKEY_BYTES)) continue;
      am_peer_live *l = &live[j];
      l->known = true;
      snprintf(l->state, sizeof l->state, "%s", json_string_value(json_object_get(p, "state")));
      l->since = json_integer_value(json_object_get(p, "connected_since"));
      json_t *u = json_object_get(p, "unsaved");
      l->unsaved.bytes_in = (uint64_t)json_integer_value(json_object_get(u, "bytes_in"));
      l->unsaved.bytes_out = (uint64_t)json_integer_value(json_object_get(u, "bytes_out"));
      l->unsaved.ann_in = (uint64_t)json_integer_value(json_object_get(u, "announcements_in"));
      l->unsaved.ann_out = (uint64_t)json_integer_value(json_object_get(u, "announcements_out"));
      l->unsaved.connects = (uint64_t)json_integer_value(json_object_get(u, "connects"));
      l->unsaved.last_seen = json_integer_value(json_object_get(p, "last_seen"));
      l->unsaved.last_connected = l->since;
      const char *sy = json_string_value(json_object_get(p, "sync"));
      snprintf(l->sync, sizeof l->sync, "%s", sy ? sy : "");
      l->last_sync = json_integer_value(json_object_get(p, "last_sync"));
    }
  }
  json_decref(r);
  return live;
}

/* ---- the peer table ------------------------------------------------------- */

enum { PC_NAME, PC_KEY, PC_ADDRESS, PC_STATE, PC_SYNC, PC_SEEN, PC_ERROR, PC_BYTES, PC_ANN, PC__N };
static const char *const pc_title[PC__N] = {"NAME",      "KEY",        "ADDRESS",
                                            "STATE",     "SYNC",       "LAST SEEN",
                                            "LAST ERROR", "BYTES IN/OUT", "ANN IN/OUT"};
static const size_t pc_max[PC__N] = {28, 11, 32, 12, 26, 14, 40, 20, 15};

static void peer_cell(const am_peer *p, const am_peer_live *l, int col, int64_t now,
                      char out[static 320]) {
  am_peer_stats s = merged(p, l);
  char a[32], b[32];
  switch (col) {
  case PC_NAME: snprintf(out, 320, "%s", p->name[0] ? p->name : "-"); break;
  case PC_KEY: {
    char k[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(p->key, k);
    snprintf(out, 320, "%.10s…", k);
    break;
  }
  case PC_ADDRESS: snprintf(out, 320, "%s", p->address[0] ? p->address : "(unknown)"); break;
  case PC_STATE: {
    const char *st = state_of(p, l);
    snprintf(out, 320, "%s", st ? st : "—");
    break;
  }
  case PC_SYNC:
    if (l && l->sync[0]) {
      time_ago(l->last_sync, now, a);
      snprintf(out, 320, "%s (%s)", l->sync, a);
    } else {
      snprintf(out, 320, "—");
    }
    break;
  case PC_SEEN: time_ago(s.last_seen, now, a), snprintf(out, 320, "%s", a); break;
  case PC_ERROR: snprintf(out, 320, "%s", p->last_error[0] ? p->last_error : "—"); break;
  case PC_BYTES:
    am_human_bytes(s.bytes_in, a), am_human_bytes(s.bytes_out, b);
    snprintf(out, 320, "%s / %s", a, b);
    break;
  case PC_ANN:
    snprintf(out, 320, "%llu / %llu", (unsigned long long)s.ann_in, (unsigned long long)s.ann_out);
    break;
  }
}

void am_print_peers(FILE *out, const am_peer *v, const am_peer_live *live, size_t n,
                    int64_t now) {
  size_t width[PC__N];
  char cell[320];
  for (int c = 0; c < PC__N; c++) width[c] = strlen(pc_title[c]);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < PC__N; c++) {
      peer_cell(&v[i], live ? &live[i] : NULL, c, now, cell);
      size_t w = am_text_width(cell);
      if (w > pc_max[c]) w = pc_max[c];
      if (w > width[c]) width[c] = w;
    }
  for (int c = 0; c < PC__N; c++) am_print_cell(out, pc_title[c], width[c], c == PC__N - 1);
  fputc('\n', out);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < PC__N; c++) {
      peer_cell(&v[i], live ? &live[i] : NULL, c, now, cell);
      am_print_cell(out, cell, width[c], c == PC__N - 1);
    }
    fputc('\n', out);
  }
}

static json_t *json_time(int64_t t) {
  if (t <= 0) return json_null();
  char ts[21];
  am_time_format(t, ts);
  return json_string(ts);
}

void *am_peers_json(const am_peer *v, const am_peer_live *live, const bool *trusted,
                    size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    const am_peer *p = &v[i];
    const am_peer_live *l = live ? &live[i] : NULL;
    am_peer_stats s = merged(p, l);
    char key[AM_PUBKEY_TEXT_LEN + 1];
    am_pubkey_to_text(p->key, key);
    const char *st = state_of(p, l);
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:o, s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
        "key", key, "name", p->name, "address", p->address[0] ? json_string(p->address) : json_null(),
        "state", st ? json_string(st) : json_null(), "blocked", p->blocked,
        "trusted", trusted ? json_boolean(trusted[i]) : json_null(), "via", via_names[p->via],
        "added", json_time(p->added), "last_seen", json_time(s.last_seen),
        "last_connected", json_time(s.last_connected),
        "last_error", p->last_error[0] ? json_string(p->last_error) : json_null(),
        "last_error_at", p->last_error[0] ? json_time(p->last_error_at) : json_null(),
        "bytes_in", (json_int_t)s.bytes_in, "bytes_out", (json_int_t)s.bytes_out,
        "announcements_in", (json_int_t)s.ann_in, "announcements_out", (json_int_t)s.ann_out,
        "connects", (json_int_t)s.connects);
    if (o) {
      json_object_set_new(o, "sync", l && l->sync[0] ? json_string(l->sync) : json_null());
      json_object_set_new(o, "last_sync", json_time(l ? l->last_sync : 0));
    }
    if (!o || json_array_append_new(arr, o)) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

/* ---- peer ------------------------------------------------------------------- */

typedef struct peer_ctx {
  const am_node *n;
  am_peer p;          /* add: what to write; others: the peer acted on */
  const char *target; /* remove, block, unblock: key or name as given */
  bool has_key;       /* target is a key */
  bool has_name, no_trust;
  int64_t now;
  /* results */
  bool existed, changed, was_trusted, trusted;
  am_peer *list;
  bool *list_trusted;
  size_t nlist;
  am_error *err;
} peer_ctx;

/* A different peer already carrying that name would make "KEY or name"
 * ambiguous: refused at add. */
typedef struct name_ctx {
  const peer_ctx *c;
  char *folded;
  am_peer clash;
  bool found;
} name_ctx;

static int name_clash(const am_peer *p, void *arg) {
  name_ctx *nc = arg;
  if (!memcmp(p->key, nc->c->p.key, AM_PUBKEY_BYTES) || !p->name[0]) return 0;
  char *f = NULL;
  bool same = strcmp(p->name, nc->c->p.name) == 0;
  if (!same && nc->folded && am_text_fold(p->name, strlen(p->name), &f, NULL) == 0)
    same = strcmp(f, nc->folded) == 0;
  free(f);
  if (same && !nc->found) nc->clash = *p, nc->found = true;
  return 0;
}

static int peer_add_fn(am_txn *t, void *arg) {
  peer_ctx *c = arg;
  am_peer old;
  int rc = am_peer_get(t, c->p.key, &old);
  if (rc == AM_ECORRUPT)
    return am_fail(c->err, rc, "the stored record of this peer is damaged: remove it first "
                   "(amicale peer remove KEY), then add it again");
  if (rc && rc != AM_ENOTFOUND) return am_fail(c->err, rc, "cannot read the peer list");
  c->existed = rc == 0;
  am_peer p = c->p;
  if (c->existed) {
    /* An update keeps what the daemon counted, the block and the origin. */
    char address[sizeof p.address], name[sizeof p.name];
    memcpy(address, p.address, sizeof address);
    memcpy(name, p.name, sizeof name);
    p = old;
    memcpy(p.address, address, sizeof address);
    if (c->has_name) memcpy(p.name, name, sizeof name);
  }
  am_trust tr;
  bool trusted = am_trust_get(t, p.key, &tr) == 0;
  c->was_trusted = trusted;
  if (!p.name[0] && trusted) memcpy(p.name, tr.name, sizeof p.name); /* same bound: 200 */
  if (c->has_name) {
    name_ctx nc = {.c = c};
    am_text_fold(p.name, strlen(p.name), &nc.folded, NULL);
    rc = am_peer_each(t, name_clash, &nc, c->err);
    free(nc.folded);
    if (rc) return rc;
    if (nc.found) {
      char k[AM_PUBKEY_TEXT_LEN + 1];
      am_pubkey_to_text(nc.clash.key, k);
      return am_fail(c->err, AM_EEXIST, "another peer is already named \"%s\" (%s); choose another --name",
                     nc.clash.name, k);
    }
  }
  if ((rc = am_peer_put(t, &p, NULL, c->err))) return rc;
  c->p = p;
  c->trusted = trusted;
  if (!c->no_trust && (!trusted || (c->has_name && strcmp(tr.name, p.name)))) {
    am_trust nt = {.added = c->now};
    memcpy(nt.key, p.key, sizeof nt.key);
    snprintf(nt.name, sizeof nt.name, "%s", trusted && !c->has_name ? tr.name : p.name);
    if ((rc = am_trust_add(t, &nt, NULL, c->err))) return rc;
    c->trusted = true;
  }
  return 0;
}

/* The peer named by c->target into c->p: AM_ENOTFOUND, AM_EINVAL. */
static int peer_target(am_txn *t, peer_ctx *c) {
  return am_peer_find(t, c->target, &c->p, c->err);
}

static int peer_remove_fn(am_txn *t, void *arg) {
  peer_ctx *c = arg;
  int rc;
  if (c->has_key) {
    /* By key, even a damaged record goes (its name only for the message). */
    am_peer p;
    if (am_peer_get(t, c->p.key, &p) == 0) c->p = p;
  } else if ((rc = peer_target(t, c))) {
    return rc;
  }
  c->trusted = am_trusted(t, c->p.key);
  return am_peer_remove(t, c->p.key, c->err);
}

static int peer_block_fn(am_txn *t, void *arg) {
  peer_ctx *c = arg;
  bool block = c->changed; /* in: block or unblock; out: whether it changed */
  int rc;
  if (block && c->has_key) {
    /* A key needs no record: blocking an unknown node records it. */
    if ((rc = am_peer_set_blocked(t, c->p.key, true, c->now, &c->changed, c->err))) return rc;
    return am_peer_get(t, c->p.key, &c->p) ? am_fail(c->err, AM_EINTERNAL, "the peer vanished") : 0;
  }
  if ((rc = peer_target(t, c))) return rc;
  if ((rc = am_peer_set_blocked(t, c->p.key, block, c->now, &c->changed, c->err))) return rc;
  c->p.blocked = block;
  return 0;
}

static int peer_list_fn(am_txn *t, void *arg) {
  peer_ctx *c = arg;
  free(c->list), free(c->list_trusted);
  c->list = NULL, c->list_trusted = NULL;
  int rc = am_peer_list(t, &c->list, &c->nlist, c->err);
  if (rc) return rc;
  if (c->nlist && !(c->list_trusted = calloc(c->nlist, sizeof *c->list_trusted)))
    return am_fail(c->err, AM_ENOMEM, "out of memory");
  for (size_t i = 0; i < c->nlist; i++) c->list_trusted[i] = am_trusted(t, c->list[i].key);
  return 0;
}

/* "École Partenaire (KEY)" or "KEY". */
static void peer_label(const am_peer *p, char *out, size_t len) {
  char k[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(p->key, k);
  if (p->name[0]) snprintf(out, len, "%s (%s)", p->name, k);
  else snprintf(out, len, "%s", k);
}

static int peer_usage(void) {
  printf("usage: amicale peer COMMAND\n\n"
         "  add HOST:PORT KEY [--name NAME] [--no-trust]\n"
         "                        record a node for amicaled to exchange with, and trust\n"
         "                        its announcements (unless --no-trust)\n"
         "  list [--json]           the peers, their state and statistics\n"
         "  remove KEY|NAME         forget a peer (its trust is unchanged)\n"
         "  block KEY|NAME          never connect to it nor accept its connections\n"
         "  unblock KEY|NAME        lift the block\n"
         "\nKEY is the 43-character key `amicale id` prints on the other node; a peer\n"
         "can also be named by its name when no other peer has it.\n");
  return EXIT_OK;
}

int cmd_peer(int argc, char **argv) {
  static const am_opt spec[] = {{"name", true}, {"no-trust", false}, {"json", false}, {NULL, false}};
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help"))
    return peer_usage(), argc < 1 ? EXIT_USAGE : EXIT_OK;
  const char *sub = argv[0];
  argc--, argv++;
  for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--help")) return peer_usage();
  protect_key_operand(&argc, &argv, spec);
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  am_error err = {0};
  peer_ctx c = {.n = &n, .now = am_now(), .err = &err};
  char label[AM_PEER_NAME_MAX + AM_PUBKEY_TEXT_LEN + 8];
  char key[AM_PUBKEY_TEXT_LEN + 1];

  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) {
    if (a.npos || am_args_has(&a, "name") || am_args_has(&a, "no-trust"))
      return am_cli_usage("usage: amicale peer list [--json]");
    if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY))) return rc;
    rc = am_store_read(n.store, peer_list_fn, &c, &err);
    am_peer_live *live = rc ? NULL : live_state(n.dir, c.list, c.nlist);
    am_node_close(&n);
    if (rc) {
      rc = am_cli_fail(rc, &err);
    } else if (a.json) {
      rc = am_print_json(stdout, am_peers_json(c.list, live, c.list_trusted, c.nlist));
    } else if (!c.nlist) {
      printf("No peers yet: add one with `amicale peer add HOST:PORT KEY`, or invite one with "
             "`amicale invite create`.\n");
      rc = EXIT_OK;
    } else {
      am_print_peers(stdout, c.list, live, c.nlist, c.now);
      if (!live)
        fprintf(stderr, "(amicaled is not running: connection states are not known)\n");
      rc = EXIT_OK;
    }
    free(live);
    free(c.list), free(c.list_trusted);
    return rc;
  }

  if (a.json) return am_cli_usage("peer %s has no --json", sub);
  if (!strcmp(sub, "add")) {
    if (a.npos != 2) return am_cli_usage("usage: amicale peer add HOST:PORT KEY [--name NAME] [--no-trust]");
    /* The two operands cannot be confused (a key has no ':' and no '.'):
     * either order works. */
    int ki = 1, ai = 0;
    if (am_pubkey_from_text(a.pos[1], c.p.key, NULL) && !am_pubkey_from_text(a.pos[0], c.p.key, NULL))
      ki = 0, ai = 1;
    am_addr addr;
    if (am_addr_parse(a.pos[ai], &addr, &err)) return am_cli_fail(AM_EUSAGE, &err);
    if (am_pubkey_from_text(a.pos[ki], c.p.key, &err)) return am_cli_fail(AM_EUSAGE, &err);
    am_addr_format(&addr, c.p.address);
    const char *name = am_args_get(&a, "name");
    if (name) {
      char *clean = NULL;
      if (am_text_clean(name, strlen(name), AM_PEER_NAME_MAX, 0, &clean, &err)) {
        am_error_prefix(&err, "--name: ");
        return am_cli_fail(AM_EUSAGE, &err);
      }
      snprintf(c.p.name, sizeof c.p.name, "%s", clean);
      free(clean);
      c.has_name = true;
    }
    c.no_trust = am_args_has(&a, "no-trust");
    c.p.added = c.now;
    c.p.via = AM_PEER_VIA_HAND;
    if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
    if (!memcmp(c.p.key, n.id.pk, AM_PUBKEY_BYTES)) {
      am_node_close(&n);
      return am_cli_usage("that is this node's own key: a node does not connect to itself");
    }
    rc = am_store_write(n.store, peer_add_fn, &c, &err);
    am_node_close(&n);
    if (rc) return am_cli_fail(rc, &err);
    am_pubkey_to_text(c.p.key, key);
    peer_label(&c.p, label, sizeof label);
    printf("Peer %s: %s at %s; ", c.existed ? "updated" : "added", label, c.p.address);
    if (!c.trusted)
      printf("its announcements are not trusted (amicale trust add %s to accept them).\n", key);
    else if (c.was_trusted && c.no_trust)
      printf("its announcements are trusted (it was already in the trust list).\n");
    else
      printf("its announcements are trusted.\n");
    if (c.p.blocked) printf("It is blocked: run `amicale peer unblock %s` to let amicaled connect.\n", key);
    return EXIT_OK;
  }

  bool remove = !strcmp(sub, "remove") || !strcmp(sub, "rm");
  bool block = !strcmp(sub, "block"), unblock = !strcmp(sub, "unblock");
  if (!remove && !block && !unblock)
    return am_cli_usage("unknown command 'peer %s' (see amicale peer --help)", sub);
  if (a.npos != 1 || a.nopts) return am_cli_usage("usage: amicale peer %s KEY|NAME", sub);
  c.target = a.pos[0];
  c.has_key = strlen(c.target) == AM_PUBKEY_TEXT_LEN && !am_pubkey_from_text(c.target, c.p.key, NULL);
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  if (block && c.has_key && !memcmp(c.p.key, n.id.pk, AM_PUBKEY_BYTES)) {
    am_node_close(&n);
    return am_cli_usage("that is this node's own key");
  }
  c.changed = block;
  rc = am_store_write(n.store, remove ? peer_remove_fn : peer_block_fn, &c, &err);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  am_pubkey_to_text(c.p.key, key);
  peer_label(&c.p, label, sizeof label);
  if (remove) {
    printf("Peer removed: %s.\n", label);
    if (c.trusted)
      printf("Its announcements are still trusted: run `amicale trust remove %s` to stop accepting "
             "them.\n", key);
  } else if (block) {
    printf("%s: %s. amicaled neither connects to it nor accepts its connections; its trust is "
           "unchanged.\n", c.changed ? "Blocked" : "Already blocked", label);
  } else {
    printf("%s: %s.\n", c.changed ? "Unblocked" : "Not blocked", label);
  }
  return EXIT_OK;
}

/* ---- invite ----------------------------------------------------------------- */


typedef struct invite_ctx {
  int64_t now, expires;
  uint32_t uses;
  am_invite_code code; /* secret, key and address: wiped at the end */
  char text[AM_INVITE_CODE_MAX + 1];
  char address[AM_ADDR_TEXT_MAX + 1]; /* the one in the code */
  am_invite inv;
  const char *id_arg;
  json_t *arr;
  size_t count;
  am_error *err;
} invite_ctx;

static int invite_create_fn(am_txn *t, void *arg) {
  invite_ctx *c = arg;
  int rc = am_invite_create(t, c->now, c->expires, c->uses, c->code.secret, &c->inv, c->err);
  /* Encoded before commit: a code that could not be written leaves no
   * invitation behind. */
  if (!rc) rc = am_invite_code_encode(&c->code, c->text, c->err);
  return rc;
}

static const char *const state_names[] = {"active", "expired", "used"};

static void hex(const uint8_t id[static AM_INVITE_ID_BYTES], char out[static 17]) {
  for (int i = 0; i < AM_INVITE_ID_BYTES; i++) snprintf(out + 2 * i, 3, "%02x", id[i]);
}

typedef struct inv_row {
  char id[17], created[24], expires[24], uses[24];
  const char *state;
} inv_row;

static int invite_list_one(const am_invite *inv, void *arg) {
  invite_ctx *c = arg;
  inv_row r;
  hex(inv->id, r.id);
  r.state = state_names[am_invite_state(inv, c->now)];
  if (c->arr) {
    json_t *o = json_pack("{s:s, s:o, s:o, s:i, s:i, s:s, s:o}", "id", r.id, "created",
                          json_time(inv->created), "expires", json_time(inv->expires), "uses_left",
                          (int)inv->uses_left, "uses_total", (int)inv->uses_total, "state", r.state,
                          "last_used", json_time(inv->last_used));
    if (!o || json_array_append_new(c->arr, o)) return AM_ENOMEM;
  } else {
    if (c->count == 0)
      printf("%-16s  %-20s  %-20s  %-9s  %s\n", "ID", "CREATED", "EXPIRES", "USES LEFT", "STATE");
    am_time_short(inv->created, r.created);
    am_time_short(inv->expires, r.expires);
    snprintf(r.uses, sizeof r.uses, "%u/%u", (unsigned)inv->uses_left, (unsigned)inv->uses_total);
    printf("%-16s  %-20s  %-20s  %-9s  %s\n", r.id, r.created, r.expires, r.uses, r.state);
  }
  c->count++;
  return 0;
}

static int invite_list_fn(am_txn *t, void *arg) {
  invite_ctx *c = arg;
  int rc = am_invite_each(t, invite_list_one, c, c->err);
  return rc == AM_ENOMEM ? am_fail(c->err, rc, "out of memory") : rc;
}

static int invite_revoke_fn(am_txn *t, void *arg) {
  invite_ctx *c = arg;
  int rc = am_invite_find(t, c->id_arg, c->inv.id, c->err);
  if (!rc) rc = am_invite_revoke(t, c->inv.id, c->err);
  return rc;
}

static int invite_usage(void) {
  printf("usage: amicale invite COMMAND\n\n"
         "  create [--expires 7d] [--uses 1] [--address HOST:PORT] [--json]\n"
         "                        make an invitation code for another node's administrator\n"
         "                        (valid 30m, 12h, 7d, 2w... up to 365d; 1 to %d uses)\n"
         "  list [--json]           the invitations, active, expired or used\n"
         "  revoke ID               stop an invitation's code from working\n"
         "  accept CODE             join the node that gave you CODE (amicaled must run)\n"
         "\nThe code carries this node's key and address: --address, else public_address\n"
         "in the [network] section of amicale.conf.\n",
         AM_INVITE_USES_MAX);
  return EXIT_OK;
}

int cmd_invite(int argc, char **argv) {
  static const am_opt spec[] = {{"expires", true}, {"uses", true}, {"address", true},
                                {"json", false}, {NULL, false}};
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help"))
    return invite_usage(), argc < 1 ? EXIT_USAGE : EXIT_OK;
  const char *sub = argv[0];
  argc--, argv++;
  for (int i = 0; i < argc && strcmp(argv[i], "--"); i++)
    if (!strcmp(argv[i], "--help")) return invite_usage();
  /* Accepting talks to the running daemon (cli/cmd_daemon.c). */
  if (!strcmp(sub, "accept")) return cmd_invite_accept(argc, argv);
  /* Accepting talks to the running daemon (cli/cmd_daemon.c). */
  if (!strcmp(sub, "accept")) return cmd_invite_accept(argc, argv);
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  am_error err = {0};
  invite_ctx c = {.now = am_now(), .err = &err};

  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) {
    if (a.npos || a.nopts > (a.json ? 1 : 0)) return am_cli_usage("usage: amicale invite list [--json]");
    if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY))) return rc;
    if (a.json) c.arr = json_array();
    rc = am_store_read(n.store, invite_list_fn, &c, &err);
    am_node_close(&n);
    if (rc) {
      json_decref(c.arr);
      return am_cli_fail(rc, &err);
    }
    if (a.json) return am_print_json(stdout, c.arr);
    if (!c.count) printf("No invitations: make one with `amicale invite create`.\n");
    return EXIT_OK;
  }

  if (!strcmp(sub, "revoke")) {
    if (a.npos != 1 || a.nopts) return am_cli_usage("usage: amicale invite revoke ID");
    size_t len = strlen(a.pos[0]);
    if (len < 4 || len > 16 || strspn(a.pos[0], "0123456789abcdefABCDEF") != len)
      return am_cli_usage("'%s' is not an invitation id (4 to 16 hexadecimal digits, as `amicale "
                          "invite list` shows it)", a.pos[0]);
    c.id_arg = a.pos[0];
    if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
    rc = am_store_write(n.store, invite_revoke_fn, &c, &err);
    am_node_close(&n);
    if (rc) return am_cli_fail(rc, &err);
    char id[17];
    hex(c.inv.id, id);
    printf("Invitation %s revoked: its code no longer works.\n", id);
    return EXIT_OK;
  }

  if (strcmp(sub, "create"))
    return am_cli_usage("unknown command 'invite %s' (see amicale invite --help)", sub);
  if (a.npos) return am_cli_usage("invite create takes options only (see amicale invite --help)");
  const char *exp = am_args_get(&a, "expires");
  int64_t ttl = exp ? am_duration_parse(exp) : 7 * 86400;
  if (ttl < 0)
    return am_cli_usage("--expires '%s' is not a duration such as 30m, 12h, 7d or 2w", exp);
  if (ttl > AM_INVITE_TTL_MAX) return am_cli_usage("--expires '%s': an invitation is valid at most 365 days", exp);
  size_t uses;
  if ((rc = am_args_size(&a, "uses", 1, &uses))) return rc;
  if (uses < 1 || uses > AM_INVITE_USES_MAX)
    return am_cli_usage("--uses must be from 1 to %d", AM_INVITE_USES_MAX);
  c.uses = (uint32_t)uses;
  c.expires = c.now + ttl;
  const char *addr = am_args_get(&a, "address");
  if (addr && am_addr_parse(addr, &c.code.addr, &err)) {
    am_error_prefix(&err, "--address: ");
    return am_cli_fail(AM_EUSAGE, &err);
  }
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  if (!addr) {
    if (!n.conf.has_public_address) {
      fprintf(stderr, "amicale: an invitation carries the address other nodes reach this one at, "
              "and none is set: add\n    public_address = HOST:PORT\nto the [network] section of "
              "%s/amicale.conf (example: public_address = alumni.example.org:%d), or give "
              "--address HOST:PORT\n", n.dir, AM_DEFAULT_PORT);
      am_node_close(&n);
      return EXIT_USAGE;
    }
    c.code.addr = n.conf.public_address;
  }
  memcpy(c.code.node_key, n.id.pk, AM_PUBKEY_BYTES);
  am_addr_format(&c.code.addr, c.address);
  rc = am_store_write(n.store, invite_create_fn, &c, &err);
  am_node_close(&n);
  am_invite_code_wipe(&c.code);
  if (rc) {
    am_wipe(c.text, sizeof c.text);
    return am_cli_fail(rc, &err);
  }
  char id[17], when[24];
  hex(c.inv.id, id);
  am_time_short(c.inv.expires, when);
  if (a.json) {
    char iso[21];
    am_time_format(c.inv.expires, iso);
    /* (jansson's copy of the code, and so of the secret, is not wiped.) */
    rc = am_print_json(stdout, json_pack("{s:s, s:s, s:s, s:i, s:s}", "code", c.text, "id", id,
                                         "expires", iso, "uses", (int)c.uses, "address", c.address));
  } else {
    printf("%s\n", c.text);
    if (isatty(STDOUT_FILENO))
      printf("\nGive this code to the other node's administrator; they run:\n"
             "  amicale invite accept CODE\n"
             "It expires on %s and can be used %u time%s.\n",
             when, (unsigned)c.uses, c.uses == 1 ? "" : "s");
    rc = EXIT_OK;
  }
  am_wipe(c.text, sizeof c.text);
  return rc;
}
