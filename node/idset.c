/* Short-id sets (see idset.h): linear probing, tombstones, rebuilt at
 * half load. */
#include "node/idset.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/sign.h"

void am_idset_init(am_idset *s, size_t max) {
  memset(s, 0, sizeof *s);
  s->max = max;
  am_hashkey_init(s->key);
}

void am_idset_free(am_idset *s) {
  free(s->ids);
  free(s->used);
  s->ids = NULL;
  s->used = NULL;
  s->cap = s->n = s->tombs = 0;
}

/* A large table left empty is given back. */
#define SHRINK_CAP 4096

void am_idset_clear(am_idset *s) {
  if (s->cap > SHRINK_CAP) {
    am_idset_free(s);
    return;
  }
  if (s->used) memset(s->used, 0, s->cap);
  s->n = s->tombs = 0;
}

static size_t find(const am_idset *s, const uint8_t sid[static 16], bool *found) {
  size_t mask = s->cap - 1, i = (size_t)am_keyed_hash(s->key, sid, 16) & mask, tomb = SIZE_MAX;
  for (;; i = (i + 1) & mask) {
    if (s->used[i] == 0) {
      *found = false;
      return tomb != SIZE_MAX ? tomb : i;
    }
    if (s->used[i] == 2) {
      if (tomb == SIZE_MAX) tomb = i;
    } else if (memcmp(s->ids[i], sid, 16) == 0) {
      *found = true;
      return i;
    }
  }
}

bool am_idset_has(const am_idset *s, const uint8_t sid[static 16]) {
  if (s->n == 0) return false;
  bool found;
  find(s, sid, &found);
  return found;
}

static bool grow(am_idset *s, size_t cap) {
  am_idset t = *s;
  t.cap = cap;
  t.n = t.tombs = 0;
  t.ids = malloc(cap * sizeof *t.ids);
  t.used = calloc(cap, 1);
  if (!t.ids || !t.used) {
    free(t.ids);
    free(t.used);
    return false;
  }
  for (size_t i = 0; i < s->cap; i++) {
    if (s->used[i] != 1) continue;
    bool found;
    size_t j = find(&t, s->ids[i], &found);
    memcpy(t.ids[j], s->ids[i], 16);
    t.used[j] = 1;
    t.n++;
  }
  free(s->ids);
  free(s->used);
  *s = t;
  return true;
}

bool am_idset_add(am_idset *s, const uint8_t sid[static 16]) {
  if (s->n >= s->max) return am_idset_has(s, sid);
  if (2 * (s->n + s->tombs + 1) > s->cap) {
    size_t cap = s->cap ? s->cap : 64;
    while (4 * (s->n + 1) > cap) cap *= 2; /* at most a quarter full after */
    if (!grow(s, cap)) return false;
  }
  bool found;
  size_t i = find(s, sid, &found);
  if (found) return true;
  if (s->used[i] == 2) s->tombs--;
  memcpy(s->ids[i], sid, 16);
  s->used[i] = 1;
  s->n++;
  return true;
}

void am_idset_remove(am_idset *s, const uint8_t sid[static 16]) {
  if (s->n == 0) return;
  bool found;
  size_t i = find(s, sid, &found);
  if (!found) return;
  s->used[i] = 2;
  s->n--;
  s->tombs++;
  if (s->n == 0 && s->cap > SHRINK_CAP) am_idset_free(s);
}
