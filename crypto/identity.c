/* The node's Ed25519 identity (see identity.h). Every libsodium call of the
 * project lives in crypto/. Secrets are kept in sodium_malloc'd memory (guard
 * pages, mlock'd where the system allows it) and wiped on every path. */
#include "crypto/identity.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

static_assert(AM_PUBKEY_BYTES == crypto_sign_PUBLICKEYBYTES,
              "AM_PUBKEY_BYTES must match libsodium");
static_assert(AM_SECKEY_BYTES == crypto_sign_SECRETKEYBYTES,
              "AM_SECKEY_BYTES must match libsodium");
static_assert(AM_SIG_BYTES == crypto_sign_BYTES,
              "AM_SIG_BYTES must match libsodium");
static_assert(AM_SECKEY_BYTES == crypto_sign_SEEDBYTES + AM_PUBKEY_BYTES,
              "libsodium's secret key is seed || public key");
static_assert(AM_PUBKEY_TEXT_LEN + 1 ==
                  sodium_base64_ENCODED_LEN(AM_PUBKEY_BYTES, B64_VARIANT),
              "AM_PUBKEY_TEXT_LEN must be the unpadded base64url length");

/* Key file format (see am_identity_save). */
#define KEYFILE_COMMENT \
  "# Amicale node secret key: keep private, back up safely.\n"
#define KEYFILE_PREFIX "amicale-secret-key-"
#define KEYFILE_VERSION "v1"
#define KEYFILE_MAX 4096 /* no valid key file comes anywhere near this */
/* base64 text of seed || pk, including the NUL sodium_bin2base64 writes */
#define SECKEY_B64_SIZE sodium_base64_ENCODED_LEN(AM_SECKEY_BYTES, B64_VARIANT)
#define KEYFILE_SIZE                                                         \
  (sizeof KEYFILE_COMMENT - 1 + sizeof KEYFILE_PREFIX - 1 +                  \
   sizeof KEYFILE_VERSION - 1 + 1 /* space */ + SECKEY_B64_SIZE - 1 +        \
   1 /* LF */ + 1 /* NUL */)
static_assert(KEYFILE_SIZE <= KEYFILE_MAX, "a saved key file must load");

/* How much of a rejected public key text the error message quotes. */
#define PUBKEY_QUOTE_MAX 60

int am_crypto_init(void) { return sodium_init() < 0 ? AM_EINTERNAL : 0; }

static void identity_clear(am_identity *id) {
  id->sk = NULL;
  sodium_memzero(id->pk, sizeof id->pk);
}

int am_identity_generate(am_identity *id, am_error *err) {
  if (!id) return am_fail(err, AM_EUSAGE, "no identity to generate into");
  identity_clear(id);
  if (am_crypto_init() != 0)
    return am_fail(err, AM_EINTERNAL, "cannot initialise libsodium");
  uint8_t *sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!sk)
    return am_fail(err, AM_ENOMEM, "out of memory for a secret key");
  if (crypto_sign_keypair(id->pk, sk) != 0) {
    sodium_free(sk);
    sodium_memzero(id->pk, sizeof id->pk);
    return am_fail(err, AM_EINTERNAL, "cannot generate a key pair");
  }
  /* Hardening only: the key is never written again; sodium_free lifts it. */
  (void)sodium_mprotect_readonly(sk);
  id->sk = sk;
  return 0;
}

void am_identity_wipe(am_identity *id) {
  if (!id) return;
  sodium_free(id->sk); /* wipes; accepts NULL */
  identity_clear(id);
}

/* write(2) until done; returns 0 or an errno value. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int am_identity_save(const am_identity *id, const char *path, am_error *err) {
  if (!id || !id->sk || !path)
    return am_fail(err, AM_EUSAGE, "no secret key or no path to save it to");
  int rc = 0, fd = -1, e;
  bool created = false;
  char *text = sodium_malloc(KEYFILE_SIZE);
  if (!text) {
    rc = am_fail(err, AM_ENOMEM, "out of memory for a secret key");
    goto out;
  }

  /* O_EXCL also refuses a symbolic link, dangling or not, at path. */
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    e = errno;
    if (e == EEXIST)
      rc = am_fail(err, AM_EEXIST,
                   "key file %s already exists; refusing to overwrite it",
                   path);
    else
      rc = am_fail(err, AM_EIO, "cannot create key file %s: %s", path,
                   strerror(e));
    goto out;
  }
  created = true;
  /* The umask may have taken bits off 0600 (umask 0277 gives 0400): set the
   * mode exactly, whatever the umask. */
  if (fchmod(fd, 0600) != 0) {
    e = errno;
    rc = am_fail(err, AM_EIO, "cannot set mode 0600 on key file %s: %s", path,
                 strerror(e));
    goto out;
  }

  size_t len = 0;
  memcpy(text + len, KEYFILE_COMMENT, sizeof KEYFILE_COMMENT - 1);
  len += sizeof KEYFILE_COMMENT - 1;
  memcpy(text + len, KEYFILE_PREFIX KEYFILE_VERSION " ",
         sizeof KEYFILE_PREFIX KEYFILE_VERSION " " - 1);
  len += sizeof KEYFILE_PREFIX KEYFILE_VERSION " " - 1;
  sodium_bin2base64(text + len, SECKEY_B64_SIZE, id->sk, AM_SECKEY_BYTES,
                    B64_VARIANT);
  len += SECKEY_B64_SIZE - 1;
  text[len++] = '\n';
  assert(len < KEYFILE_SIZE);

  if ((e = write_all(fd, text, len)) != 0) {
    rc = am_fail(err, AM_EIO, "cannot write key file %s: %s", path,
                 strerror(e));
    goto out;
  }
  if (fsync(fd) != 0) {
    e = errno;
    rc = am_fail(err, AM_EIO, "cannot write key file %s: %s", path,
                 strerror(e));
    goto out;
  }
  int fd_ = fd;
  fd = -1;
  if (close(fd_) != 0) {
    e = errno;
    rc = am_fail(err, AM_EIO, "cannot write key file %s: %s", path,
                 strerror(e));
    goto out;
  }

out:
  if (fd >= 0) close(fd);
  if (rc != 0 && created) unlink(path);
  if (text) {
    sodium_memzero(text, KEYFILE_SIZE);
    sodium_free(text);
  }
  return rc;
}

/* Secret intermediates of am_identity_load, in one guarded allocation. */
struct load_scratch {
  char buf[KEYFILE_MAX + 1]; /* the file; one more byte to detect growth */
  uint8_t raw[AM_SECKEY_BYTES]; /* decoded seed || stored public key */
  uint8_t pk[AM_PUBKEY_BYTES];  /* public key derived from the seed */
};

static bool is_version_token(const char *s, size_t len) {
  if (len < 2 || s[0] != 'v') return false;
  for (size_t i = 1; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

int am_identity_load(am_identity *id, const char *path, am_error *err) {
  if (!id || !path)
    return am_fail(err, AM_EUSAGE, "no identity or no key file path");
  identity_clear(id);
  int rc = 0, fd = -1, e;
  struct load_scratch *s = NULL;
  uint8_t *sk = NULL;

  if (am_crypto_init() != 0) {
    rc = am_fail(err, AM_EINTERNAL, "cannot initialise libsodium");
    goto out;
  }
  s = sodium_malloc(sizeof *s);
  sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!s || !sk) {
    rc = am_fail(err, AM_ENOMEM, "out of memory for a secret key");
    goto out;
  }

  /* O_NONBLOCK: opening a FIFO must not hang before fstat refuses it; it
   * changes nothing for a regular file. */
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    e = errno;
    struct stat lst;
    if (e == ENOENT)
      rc = am_fail(err, AM_ENOTFOUND, "no key file at %s", path);
    else if (e == ELOOP && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode))
      rc = am_fail(err, AM_EINVAL,
                   "key file %s is a symbolic link; refusing to follow it "
                   "(give the path of the file itself)",
                   path);
    else
      rc = am_fail(err, AM_EIO, "cannot open key file %s: %s", path,
                   strerror(e));
    goto out;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    e = errno;
    rc = am_fail(err, AM_EIO, "cannot read key file %s: %s", path,
                 strerror(e));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = am_fail(err, AM_EINVAL, "key file %s is not a regular file", path);
    goto out;
  }
  if (st.st_mode & 077) {
    rc = am_fail(err, AM_EINVAL,
                 "key file %s is accessible by other users (mode %04o); "
                 "run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
    goto out;
  }
  if (st.st_size > KEYFILE_MAX) {
    rc = am_fail(err, AM_ECORRUPT,
                 "damaged key file %s: larger than %d bytes", path,
                 KEYFILE_MAX);
    goto out;
  }

  size_t len = 0;
  while (len < sizeof s->buf) {
    ssize_t n = read(fd, s->buf + len, sizeof s->buf - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      e = errno;
      rc = am_fail(err, AM_EIO, "cannot read key file %s: %s", path,
                   strerror(e));
      goto out;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  if (len > KEYFILE_MAX) { /* grew after fstat */
    rc = am_fail(err, AM_ECORRUPT,
                 "damaged key file %s: larger than %d bytes", path,
                 KEYFILE_MAX);
    goto out;
  }
  if (len == 0) {
    rc = am_fail(err, AM_ECORRUPT, "damaged key file %s: the file is empty",
                 path);
    goto out;
  }

  /* Find the first line that starts with the prefix; others are ignored. */
  const char *line = NULL, *end = NULL;
  for (const char *p = s->buf, *stop = s->buf + len; p < stop;) {
    const char *nl = memchr(p, '\n', (size_t)(stop - p));
    const char *eol = nl ? nl : stop;
    if ((size_t)(eol - p) >= sizeof KEYFILE_PREFIX - 1 &&
        memcmp(p, KEYFILE_PREFIX, sizeof KEYFILE_PREFIX - 1) == 0) {
      line = p;
      end = eol;
      break;
    }
    p = nl ? nl + 1 : stop;
  }
  if (!line) {
    rc = am_fail(err, AM_ECORRUPT, "%s is not an Amicale key file", path);
    goto out;
  }
  const char *ver = line + sizeof KEYFILE_PREFIX - 1;
  while (end > ver && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
    end--;

  const char *sp = memchr(ver, ' ', (size_t)(end - ver));
  size_t ver_len = (size_t)((sp ? sp : end) - ver);
  if (ver_len != sizeof KEYFILE_VERSION - 1 ||
      memcmp(ver, KEYFILE_VERSION, ver_len) != 0) {
    if (is_version_token(ver, ver_len))
      rc = am_fail(err, AM_ENEWER,
                   "key file %s was written by a newer version of Amicale",
                   path);
    else
      rc = am_fail(err, AM_ECORRUPT,
                   "damaged key file %s: unknown key line header", path);
    goto out;
  }
  if (!sp) {
    rc = am_fail(err, AM_ECORRUPT, "damaged key file %s: the key is missing",
                 path);
    goto out;
  }
  const char *b64 = sp + 1;
  size_t raw_len = 0;
  /* b64_end NULL: libsodium fails unless all of the text is consumed; it
   * also refuses non-zero trailing bits, so the encoding is canonical. */
  if (sodium_base642bin(s->raw, sizeof s->raw, b64, (size_t)(end - b64), NULL,
                        &raw_len, NULL, B64_VARIANT) != 0 ||
      raw_len != AM_SECKEY_BYTES) {
    rc = am_fail(err, AM_ECORRUPT,
                 "damaged key file %s: the key is not %d bytes of base64url",
                 path, AM_SECKEY_BYTES);
    goto out;
  }

  if (crypto_sign_seed_keypair(s->pk, sk, s->raw) != 0) {
    rc = am_fail(err, AM_EINTERNAL, "cannot derive the key pair of %s", path);
    goto out;
  }
  if (sodium_memcmp(s->pk, s->raw + crypto_sign_SEEDBYTES, AM_PUBKEY_BYTES) !=
      0) {
    rc = am_fail(err, AM_ECORRUPT,
                 "damaged key file %s: the public key does not match the "
                 "secret key",
                 path);
    goto out;
  }

  (void)sodium_mprotect_readonly(sk); /* hardening only */
  memcpy(id->pk, s->pk, AM_PUBKEY_BYTES);
  id->sk = sk;
  sk = NULL;

out:
  if (fd >= 0) close(fd);
  sodium_free(sk); /* wipes; NULL when handed over to id */
  if (s) {
    sodium_memzero(s, sizeof *s);
    sodium_free(s);
  }
  return rc;
}

void am_pubkey_to_text(const uint8_t pk[static AM_PUBKEY_BYTES],
                       char out[static AM_PUBKEY_TEXT_LEN + 1]) {
  sodium_bin2base64(out, AM_PUBKEY_TEXT_LEN + 1, pk, AM_PUBKEY_BYTES,
                    B64_VARIANT);
}

static bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

static bool is_b64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int am_pubkey_from_text(const char *text, uint8_t pk[static AM_PUBKEY_BYTES],
                        am_error *err) {
  if (!text) text = "";
  const char *b = text, *e = text + strlen(text);
  while (b < e && is_ascii_space(*b)) b++;
  while (e > b && is_ascii_space(e[-1])) e--;
  size_t len = (size_t)(e - b);

  bool ok = len == AM_PUBKEY_TEXT_LEN;
  for (size_t i = 0; ok && i < len; i++) ok = is_b64url_char(b[i]);
  uint8_t tmp[AM_PUBKEY_BYTES];
  size_t bin_len = 0;
  /* libsodium also refuses non-zero trailing bits in the last character. */
  if (ok)
    ok = sodium_base642bin(tmp, sizeof tmp, b, len, NULL, &bin_len, NULL,
                           B64_VARIANT) == 0 &&
         bin_len == AM_PUBKEY_BYTES;
  if (ok) {
    memcpy(pk, tmp, AM_PUBKEY_BYTES);
    return 0;
  }

  /* Quote what was given, shortened, control characters shown as '?'. */
  char quote[PUBKEY_QUOTE_MAX + 4];
  size_t n = len;
  if (n > PUBKEY_QUOTE_MAX) {
    n = PUBKEY_QUOTE_MAX;
    while (n > 0 && ((unsigned char)b[n] & 0xC0) == 0x80) n--; /* UTF-8 */
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)b[i];
    quote[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (n < len) {
    memcpy(quote + n, "...", 4);
  } else {
    quote[n] = '\0';
  }
  return am_fail(err, AM_EINVAL,
                 "'%s' is not a node key (expected %d characters of "
                 "base64url, as printed by `amicale id`)",
                 quote, AM_PUBKEY_TEXT_LEN);
}

int am_sign(const am_identity *id, const uint8_t *msg, size_t len,
            uint8_t sig[static AM_SIG_BYTES]) {
  static const uint8_t empty[1];
  if (!id || !id->sk || (!msg && len > 0)) return AM_EUSAGE;
  if (!msg) msg = empty;
  if (crypto_sign_detached(sig, NULL, msg, len, id->sk) != 0)
    return AM_EINTERNAL;
  return 0;
}

int am_verify(const uint8_t pk[static AM_PUBKEY_BYTES], const uint8_t *msg,
              size_t len, const uint8_t sig[static AM_SIG_BYTES]) {
  static const uint8_t empty[1];
  if (!msg && len > 0) return AM_EINVAL;
  if (!msg) msg = empty;
  return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : AM_EINVAL;
}

void am_random(void *buf, size_t len) {
  if (len > 0) randombytes_buf(buf, len);
}
