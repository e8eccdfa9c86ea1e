/* Allocation-free msgpack structure walk (see mpcheck.h). */
#include "proto/mpcheck.h"

#include "proto/error.h"

#define MP_MAX_DEPTH 64

static uint64_t be(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

int am_mp_check(const uint8_t *p, size_t len, unsigned max_depth, int flags,
                size_t *used) {
  /* pending[d]: elements still to read at depth d. */
  uint64_t pending[MP_MAX_DEPTH + 1];
  unsigned depth = 0;
  size_t off = 0;
  if (max_depth > MP_MAX_DEPTH) max_depth = MP_MAX_DEPTH;
  pending[0] = 1;

  while (depth > 0 || pending[0] > 0) {
    if (pending[depth] == 0) {
      depth--;
      continue;
    }
    pending[depth]--;
    if (off >= len) return AM_ECORRUPT;
    uint8_t t = p[off++];
    size_t left = len - off;
    uint64_t skip = 0, children = 0;
    unsigned hdr = 0;
    int container = 0;

    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
      /* fixint, nil, bool */
    } else if (t >= 0xa0 && t <= 0xbf) {
      skip = t & 0x1f;
    } else if (t >= 0x90 && t <= 0x9f) {
      children = t & 0x0f;
      container = 1;
    } else if (t >= 0x80 && t <= 0x8f) {
      children = 2 * (uint64_t)(t & 0x0f);
      container = 1;
    } else {
      switch (t) {
      case 0xcc: case 0xd0: skip = 1; break;
      case 0xcd: case 0xd1: skip = 2; break;
      case 0xce: case 0xd2: skip = 4; break;
      case 0xcf: case 0xd3: skip = 8; break;
      case 0xca: case 0xcb:
        if (!(flags & AM_MP_ALLOW_FLOAT)) return AM_ECORRUPT;
        skip = t == 0xca ? 4 : 8;
        break;
      case 0xd9: case 0xc4: hdr = 1; break;
      case 0xda: case 0xc5: hdr = 2; break;
      case 0xdb: case 0xc6: hdr = 4; break;
      case 0xdc: case 0xde: hdr = 2; break;
      case 0xdd: case 0xdf: hdr = 4; break;
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
      case 0xc7: case 0xc8: case 0xc9:
        if (!(flags & AM_MP_ALLOW_EXT)) return AM_ECORRUPT;
        if (t >= 0xd4) {
          skip = 1 + ((uint64_t)1 << (t - 0xd4)); /* type byte + data */
        } else {
          unsigned n = t == 0xc7 ? 1 : t == 0xc8 ? 2 : 4;
          if (left < n + 1) return AM_ECORRUPT;
          skip = n + 1 + be(p + off, n);
        }
        break;
      default: /* 0xc1 is never used */
        return AM_ECORRUPT;
      }
      if (hdr) {
        if (left < hdr) return AM_ECORRUPT;
        uint64_t n = be(p + off, hdr);
        off += hdr;
        left -= hdr;
        if (t == 0xdc || t == 0xdd) children = n, container = 1;
        else if (t == 0xde || t == 0xdf) children = 2 * n, container = 1;
        else skip = n;
      }
    }
    if (skip > left) return AM_ECORRUPT;
    off += (size_t)skip;
    if (container) {
      /* An array or map is one level deeper, even an empty one. Each
       * element takes at least one byte: refuse counts that cannot fit. */
      if (depth + 1 > max_depth) return AM_ECORRUPT;
      if (children > len - off) return AM_ECORRUPT;
      if (children) pending[++depth] = children;
    }
  }
  if (used) *used = off;
  return 0;
}
