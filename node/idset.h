/* A set of short ids (16 bytes) in one open-addressing table, hashed with
 * a per-process key (crypto/sign.h am_keyed_hash): the announcements this
 * node is fetching from some peer, and those it recently refused. Bounded:
 * am_idset_add refuses (returns false) once `max` ids are held. */
#ifndef AMICALE_NODE_IDSET_H
#define AMICALE_NODE_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct am_idset {
  uint8_t (*ids)[16];
  uint8_t *used; /* 0 empty, 1 held, 2 removed */
  size_t cap, n, tombs, max;
  uint8_t key[16];
} am_idset;

void am_idset_init(am_idset *s, size_t max);
void am_idset_free(am_idset *s);
void am_idset_clear(am_idset *s);
bool am_idset_has(const am_idset *s, const uint8_t sid[static 16]);
/* false when full or out of memory (the id is then not held). */
bool am_idset_add(am_idset *s, const uint8_t sid[static 16]);
void am_idset_remove(am_idset *s, const uint8_t sid[static 16]);

#endif
