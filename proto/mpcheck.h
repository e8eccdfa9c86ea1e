/* A bounds check run on msgpack bytes before msgpack-c sees them.
 * msgpack-c allocates what a header declares before it reads the elements
 * (an array header of 5 bytes can ask for ~96 GB: msgpack-c issue #1013), so
 * every buffer we did not just write ourselves goes through am_mp_check
 * first: it walks one object without allocating and refuses any declared
 * length or element count larger than the bytes that remain, nesting deeper
 * than max_depth, and (optionally) floats and ext types. */
#ifndef AMICALE_PROTO_MPCHECK_H
#define AMICALE_PROTO_MPCHECK_H

#include <stddef.h>
#include <stdint.h>

enum {
  AM_MP_ALLOW_FLOAT = 1,
  AM_MP_ALLOW_EXT = 2,
};

/* Checks that p[0..len) starts with one well-formed msgpack object within
 * the limits; *used gets its length. Returns 0 or AM_ECORRUPT. */
int am_mp_check(const uint8_t *p, size_t len, unsigned max_depth, int flags,
                size_t *used);

#endif
