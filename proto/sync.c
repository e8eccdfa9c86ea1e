/* Range entries of sync messages (see sync.h).
 *
 *   entry = mode[1] depth[1] prefix[(depth+1)/2] body
 *   FPS body = 16 fingerprints of 16 bytes     (depth 0..31)
 *   IDS body = n[2, big-endian] n short ids    (depth 0..32, n <= 4096) */
#include "proto/sync.h"

#include <string.h>

bool am_prefix_match(const am_prefix *p, const uint8_t *id) {
  unsigned full = p->depth / 2u;
  if (memcmp(p->p, id, full) != 0) return false;
  return p->depth % 2 == 0 || (id[full] >> 4) == (p->p[full] >> 4);
}

am_prefix am_prefix_child(const am_prefix *p, int n) {
  am_prefix c = *p;
  unsigned i = p->depth;
  if (i % 2 == 0) c.p[i / 2] = (uint8_t)(n << 4);
  else c.p[i / 2] = (uint8_t)((c.p[i / 2] & 0xf0) | n);
  c.depth++;
  return c;
}

void am_prefix_text(const am_prefix *p, char out[static AM_SYNC_MAX_DEPTH + 1]) {
  static const char hex[] = "0123456789abcdef";
  for (unsigned i = 0; i < p->depth; i++) out[i] = hex[am_nibble(p->p, i)];
  out[p->depth] = 0;
}

static size_t prefix_bytes(unsigned depth) { return (depth + 1) / 2; }

size_t am_range_fps_size(const am_prefix *p) {
  return 2 + prefix_bytes(p->depth) + 16 * AM_FP_LEN;
}

size_t am_range_ids_size(const am_prefix *p, uint32_t n) {
  return 2 + prefix_bytes(p->depth) + 2 + (size_t)n * AM_SID_BYTES;
}

static int put_head(am_buf *b, int mode, const am_prefix *p) {
  uint8_t h[2 + AM_SID_BYTES];
  h[0] = (uint8_t)mode;
  h[1] = p->depth;
  memcpy(h + 2, p->p, prefix_bytes(p->depth));
  return am_buf_append(b, (const char *)h, 2 + prefix_bytes(p->depth));
}

int am_range_put_fps(am_buf *b, const am_prefix *p, const uint8_t fps[16][AM_FP_LEN]) {
  if (p->depth >= AM_SYNC_MAX_DEPTH) return AM_EUSAGE;
  int rc = put_head(b, AM_RANGE_FPS, p);
  if (!rc) rc = am_buf_append(b, (const char *)fps, 16 * AM_FP_LEN);
  return rc ? AM_ENOMEM : 0;
}

int am_range_put_ids(am_buf *b, const am_prefix *p, const uint8_t *ids, uint32_t n) {
  if (n > AM_RANGE_IDS_MAX) return AM_EUSAGE;
  uint8_t cnt[2] = {(uint8_t)(n >> 8), (uint8_t)n};
  int rc = put_head(b, AM_RANGE_IDS, p);
  if (!rc) rc = am_buf_append(b, (const char *)cnt, 2);
  if (!rc && n) rc = am_buf_append(b, (const char *)ids, (size_t)n * AM_SID_BYTES);
  return rc ? AM_ENOMEM : 0;
}

int am_range_next(const uint8_t *p, size_t len, size_t *off, am_range *r, am_error *err) {
  size_t o = *off;
  memset(r, 0, sizeof *r);
  if (o >= len) return 0;
  if (len - o < 2) return am_fail(err, AM_EINVAL, "sync entry at byte %zu: cut short", o);
  r->mode = p[o];
  unsigned depth = p[o + 1];
  if (r->mode != AM_RANGE_FPS && r->mode != AM_RANGE_IDS)
    return am_fail(err, AM_EINVAL, "sync entry at byte %zu: unknown mode %d", o, r->mode);
  if (depth > AM_SYNC_MAX_DEPTH || (r->mode == AM_RANGE_FPS && depth == AM_SYNC_MAX_DEPTH))
    return am_fail(err, AM_EINVAL, "sync entry at byte %zu: depth %u out of range", o, depth);
  size_t pb = prefix_bytes(depth);
  o += 2;
  if (len - o < pb) return am_fail(err, AM_EINVAL, "sync entry at byte %zu: cut short", *off);
  r->prefix.depth = (uint8_t)depth;
  memcpy(r->prefix.p, p + o, pb);
  if (depth % 2 && (r->prefix.p[pb - 1] & 15))
    return am_fail(err, AM_EINVAL, "sync entry at byte %zu: prefix has bits past its depth",
                   *off);
  o += pb;
  if (r->mode == AM_RANGE_FPS) {
    if (len - o < 16 * AM_FP_LEN)
      return am_fail(err, AM_EINVAL, "sync entry at byte %zu: cut short", *off);
    r->fps = p + o;
    *off = o + 16 * AM_FP_LEN;
    return 1;
  }
  if (len - o < 2) return am_fail(err, AM_EINVAL, "sync entry at byte %zu: cut short", *off);
  r->n = (uint32_t)p[o] << 8 | p[o + 1];
  o += 2;
  if (r->n > AM_RANGE_IDS_MAX)
    return am_fail(err, AM_EINVAL, "sync entry at byte %zu: %u ids, more than %d", *off, r->n,
                   AM_RANGE_IDS_MAX);
  if ((len - o) / AM_SID_BYTES < r->n)
    return am_fail(err, AM_EINVAL, "sync entry at byte %zu: cut short", *off);
  r->ids = p + o;
  for (uint32_t i = 0; i < r->n; i++) {
    const uint8_t *id = r->ids + (size_t)i * AM_SID_BYTES;
    if (!am_prefix_match(&r->prefix, id))
      return am_fail(err, AM_EINVAL, "sync entry at byte %zu: id %u is not under the prefix",
                     *off, i);
    if (i && memcmp(id - AM_SID_BYTES, id, AM_SID_BYTES) >= 0)
      return am_fail(err, AM_EINVAL, "sync entry at byte %zu: ids not in increasing order",
                     *off);
  }
  *off = o + (size_t)r->n * AM_SID_BYTES;
  return 1;
}
