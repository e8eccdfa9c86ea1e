/* A node's data directory:
 *   amicale.conf   human-editable settings (INI: [node] name, kind;
 *                  [store] map_size; [network] listen, public_address,
 *                  max_connections), written last by `amicale init`, so
 *                  its presence marks a complete node
 *   node.key       the Ed25519 identity, mode 0600 (crypto/identity.h)
 *   store/         the LMDB environment (store/store.h)
 * The directory itself is created with mode 0700. */
#ifndef AMICALE_STORE_DATADIR_H
#define AMICALE_STORE_DATADIR_H

#include "crypto/identity.h"
#include "proto/address.h"
#include "store/store.h"

#define AM_NAME_MAX 200

enum am_kind { AM_KIND_SCHOOL, AM_KIND_COMPANY, AM_KIND_ASSOCIATION, AM_KIND_FEDERATION };

#define AM_DEFAULT_LISTEN "*:7400" /* every address, AM_DEFAULT_PORT */
#define AM_DEFAULT_MAX_CONNECTIONS 256
#define AM_MAX_CONNECTIONS_LIMIT 65535

typedef struct am_config {
  char name[AM_NAME_MAX + 1];
  int kind;
  size_t map_size;
  /* [network], read by the daemon (amicaled) and `amicale invite create`. */
  am_addr listen;              /* where to accept connections; default
                                  AM_DEFAULT_LISTEN ("*": every address) */
  am_addr public_address;      /* the HOST:PORT other nodes reach this one
                                  at (put into invitation codes) ... */
  bool has_public_address;     /* ... when set (absent or empty: not) */
  unsigned max_connections;    /* 1..65535, default 256 */
} am_config;

typedef struct am_node {
  char dir[4096];
  am_config conf;
  am_identity id;   /* loaded with AM_NODE_KEY */
  am_store *store;  /* opened with AM_NODE_STORE */
} am_node;

enum {
  AM_NODE_STORE = 1,
  AM_NODE_KEY = 2,
  AM_NODE_READ_ONLY = 4,
};

/* The data directory to use: explicit (--dir) if non-NULL, else
 * $AMICALE_DIR, else $AMICALE_HOME, else $XDG_DATA_HOME/amicale, else
 * ~/.local/share/amicale. */
int am_datadir_resolve(const char *explicit_dir, char *out, size_t outlen,
                       am_error *err);

const char *am_kind_name(int kind);
int am_kind_parse(const char *s); /* -1 when unknown */

/* Parses "64M", "1G", "100000000"; AM_EINVAL when malformed. */
int am_size_parse(const char *s, size_t *out);

/* Creates a node: directory, key, store, then config. Refuses a directory
 * that already holds a node (AM_EEXIST) and leaves nothing behind on
 * failure. */
int am_node_create(const char *dir, const char *name, int kind,
                   size_t map_size, am_error *err);

/* The same with the [network] settings `amicale init` may be given. The
 * file always has a [network] section: a setting not given is written as
 * a commented example, so an administrator sees what exists. AM_EUSAGE
 * (before anything is created) when listen or public_address does not
 * parse. */
typedef struct am_node_opts {
  const char *name;
  int kind;
  size_t map_size;            /* 0: AM_STORE_DEFAULT_MAP */
  const char *listen;         /* NULL: the default (written commented out) */
  const char *public_address; /* NULL: none (a commented example) */
} am_node_opts;
int am_node_create_opts(const char *dir, const am_node_opts *o, am_error *err);

/* Opens the node in dir: reads the config, and opens the store and/or
 * loads the key as flags ask. Errors say when dir holds no node. */
int am_node_open(am_node *n, const char *dir, int flags, am_error *err);
void am_node_close(am_node *n);

/* Reads dir/amicale.conf into conf (errors name the line). */
int am_config_read(const char *dir, am_config *conf, am_error *err);

#endif
