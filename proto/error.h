/* One error convention for every layer: functions return 0 on success or a
 * negative AM_E* code. Where a caller can be told more (which file, which
 * line, which field), the function also fills an optional am_error with a
 * sentence a user can act on. Library errors (errno, LMDB, libsodium) are
 * translated into these codes once, at the border where they occur. */
#ifndef AMICALE_PROTO_ERROR_H
#define AMICALE_PROTO_ERROR_H

#include <stddef.h>

enum {
  AM_OK = 0,
  AM_EUSAGE = -1,     /* the caller asked for something malformed */
  AM_EINVAL = -2,     /* invalid data (a field, a CSV row, a key file) */
  AM_ENOTFOUND = -3,  /* no such member, no node in this directory */
  AM_EEXIST = -4,     /* already exists (node, email) */
  AM_ENOMEM = -5,
  AM_EIO = -6,        /* the operating system refused (see message) */
  AM_ECORRUPT = -7,   /* stored data does not decode: damaged store or file */
  AM_ENEWER = -8,     /* written by a newer version of Amicale */
  AM_ETOOBIG = -9,    /* a size limit was reached */
  AM_EINTERNAL = -10, /* a bug or an unexpected library failure */
};

typedef struct am_error {
  int code;
  char msg[512];
} am_error;

/* Records code and a formatted message in err (if non-NULL); returns code so
 * callers can write `return am_fail(err, AM_EINVAL, "...", ...);`. */
int am_fail(am_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes an already-filled message with context ("line 12: ..."). */
void am_error_prefix(am_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short generic sentence for a code, used when no message was filled. */
const char *am_strerror(int code);

/* The message in err if any, else am_strerror(code). */
const char *am_error_text(const am_error *err, int code);

#endif
