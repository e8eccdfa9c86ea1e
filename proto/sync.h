/* The ranges of a sync message (docs/PROTOCOL.md 15.3): how two nodes
 * describe parts of their sets of announcement ids to each other during
 * reconciliation. A range is named by a prefix of the ids in hexadecimal
 * digits ("nibbles"); an entry either gives the fingerprints of the 16
 * sub-ranges of a range (FPS) or lists every short id the sender holds in
 * it (IDS). Pure codec: the store computes, node/ sends. */
#ifndef AMICALE_PROTO_SYNC_H
#define AMICALE_PROTO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

#define AM_SID_BYTES 16      /* short ids: the first 16 bytes of an id */
#define AM_SYNC_MAX_DEPTH 32 /* nibbles of a short id */
#define AM_FP_LEN 16         /* a fingerprint (crypto/sign.h AM_FP_BYTES) */
#define AM_RANGE_IDS_MAX 4096 /* short ids in one IDS entry */

/* A range: the ids whose first `depth` nibbles are those of p. */
typedef struct am_prefix {
  uint8_t depth;
  uint8_t p[AM_SID_BYTES]; /* nibbles past depth are zero */
} am_prefix;

static inline int am_nibble(const uint8_t *id, unsigned i) {
  return i % 2 == 0 ? id[i / 2] >> 4 : id[i / 2] & 15;
}
bool am_prefix_match(const am_prefix *p, const uint8_t *id);
/* The prefix of depth+1 nibbles: p followed by nibble n. */
am_prefix am_prefix_child(const am_prefix *p, int n);
/* "3fa" (depth nibbles in hex; "" for the root): logs and tests. */
void am_prefix_text(const am_prefix *p, char out[static AM_SYNC_MAX_DEPTH + 1]);

enum { AM_RANGE_FPS = 0, AM_RANGE_IDS = 1 };

typedef struct am_range {
  int mode;
  am_prefix prefix;
  const uint8_t *fps; /* FPS: 16 fingerprints of AM_FP_LEN bytes, child 0 first */
  const uint8_t *ids; /* IDS: n short ids, increasing, all under prefix */
  uint32_t n;
} am_range;

/* Reads the entry at p[*off..len): 1 with r filled (pointing into p) and
 * *off moved past it, 0 at the end, AM_EINVAL with a sentence when the
 * bytes break a rule of 15.3 (err says which and at which offset). */
int am_range_next(const uint8_t *p, size_t len, size_t *off, am_range *r, am_error *err);

/* Encoded sizes, and appending entries. */
size_t am_range_fps_size(const am_prefix *p);
size_t am_range_ids_size(const am_prefix *p, uint32_t n);
int am_range_put_fps(am_buf *b, const am_prefix *p, const uint8_t fps[16][AM_FP_LEN]);
/* ids: n short ids, increasing, under p (n <= AM_RANGE_IDS_MAX). */
int am_range_put_ids(am_buf *b, const am_prefix *p, const uint8_t *ids, uint32_t n);

#endif
