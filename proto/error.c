/* Error codes and messages shared by every layer (see error.h). */
#include "proto/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int am_fail(am_error *err, int code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

void am_error_prefix(am_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[256], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  /* A message cut short is still better than none. */
  if (snprintf(err->msg, sizeof err->msg, "%s%s", prefix, old) < 0) err->msg[0] = '\0';
}

const char *am_strerror(int code) {
  switch (code) {
  case AM_OK: return "success";
  case AM_EUSAGE: return "invalid usage";
  case AM_EINVAL: return "invalid data";
  case AM_ENOTFOUND: return "not found";
  case AM_EEXIST: return "already exists";
  case AM_ENOMEM: return "out of memory";
  case AM_EIO: return "input/output error";
  case AM_ECORRUPT: return "stored data is damaged";
  case AM_ENEWER: return "written by a newer version of Amicale";
  case AM_ETOOBIG: return "size limit reached";
  case AM_EINTERNAL: return "internal error";
  default: return "unknown error";
  }
}

const char *am_error_text(const am_error *err, int code) {
  if (err && err->msg[0]) return err->msg;
  return am_strerror(code);
}
