/* Unit tests for crypto/identity.c: key generation, the key file (mode,
 * O_EXCL, damage detection), the public key text form, signatures. Files go
 * to a fresh directory under /tmp, removed at the end. */
#include "crypto/identity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "tests/test.h"

/* Known answer: the Ed25519 public key of the seed 00 01 02 .. 1f, computed
 * independently of libsodium with OpenSSL 3.0 (the DER prefix makes a PKCS#8
 * Ed25519 private key from the raw seed):
 *   python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex(
 *     '302e020100300506032b657004220420') + bytes(range(32)))" > k.der
 *   openssl pkey -inform DER -in k.der -pubout -outform DER | tail -c 32 |
 *     python3 -c "import sys, base64; print(base64.urlsafe_b64encode(
 *       sys.stdin.buffer.read()).rstrip(b'=').decode())"
 * (hex 03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8) */
#define KAT_PUBKEY_TEXT "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"

#define KEY_PREFIX "amicale-secret-key-v1 "

static char tmpdir[] = "/tmp/amicale-test-crypto-XXXXXX";

static void tpath(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", tmpdir, name);
}

static int write_file(const char *path, const char *data, size_t len,
                      mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  if (fchmod(fd, mode) != 0 || (len && write(fd, data, len) != (ssize_t)len)) {
    close(fd);
    return -1;
  }
  return close(fd);
}

/* Reads up to size-1 bytes and NUL-terminates; returns the length or -1. */
static long read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return (long)n;
}

static bool is_empty(const am_identity *id) {
  static const uint8_t zero[AM_PUBKEY_BYTES];
  return id->sk == NULL && memcmp(id->pk, zero, sizeof zero) == 0;
}

/* Generates a key and saves it under name; returns 0 on success. */
static int make_key_file(const char *name, am_identity *id, char *path,
                         size_t size) {
  tpath(path, size, name);
  unlink(path);
  am_error err = {0};
  if (am_identity_generate(id, &err) != 0) return -1;
  return am_identity_save(id, path, &err);
}

/* Loads path expecting failure with code; checks the message mentions path
 * and needle, and that id holds no key afterwards. */
static void expect_load_error(const char *path, int code, const char *needle) {
  am_identity id;
  am_error err = {0};
  CHECK_INT(am_identity_load(&id, path, &err), code);
  CHECK_INT(err.code, code);
  CHECK(strstr(err.msg, path) != NULL);
  if (needle && !strstr(err.msg, needle)) {
    fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, needle);
    CHECK(strstr(err.msg, needle) != NULL);
  }
  CHECK(is_empty(&id));
  am_identity_wipe(&id);
}

static void test_init(void) {
  CHECK_INT(am_crypto_init(), 0);
  CHECK_INT(am_crypto_init(), 0);
}

static void test_generate(void) {
  am_identity a, b;
  am_error err = {0};
  REQUIRE(am_identity_generate(&a, &err) == 0);
  REQUIRE(am_identity_generate(&b, &err) == 0);
  CHECK(a.sk != NULL && b.sk != NULL);
  CHECK(memcmp(a.pk, b.pk, AM_PUBKEY_BYTES) != 0);
  /* libsodium's secret key ends with the public key */
  CHECK(memcmp(a.sk + 32, a.pk, AM_PUBKEY_BYTES) == 0);
  am_identity_wipe(&a);
  am_identity_wipe(&b);
}

static void test_wipe(void) {
  am_identity id;
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  am_identity_wipe(&id);
  CHECK(is_empty(&id));
  am_identity_wipe(&id); /* twice is harmless */
  CHECK(is_empty(&id));
  am_identity_wipe(NULL);
}

static void test_save_load_roundtrip(void) {
  char path[512], text[4096];
  am_identity a, b;
  am_error err = {0};
  REQUIRE(make_key_file("roundtrip.key", &a, path, sizeof path) == 0);

  /* the documented format */
  long n = read_file(path, text, sizeof text);
  const char *comment =
      "# Amicale node secret key: keep private, back up safely.\n";
  CHECK(strncmp(text, comment, strlen(comment)) == 0);
  const char *line2 = text + strlen(comment);
  CHECK(strncmp(line2, KEY_PREFIX, strlen(KEY_PREFIX)) == 0);
  CHECK_INT(n, (long)(strlen(comment) + strlen(KEY_PREFIX) + 86 + 1));
  CHECK(text[n - 1] == '\n');
  CHECK(strchr(line2, '\n') == text + n - 1);

  REQUIRE(am_identity_load(&b, path, &err) == 0);
  CHECK(memcmp(a.pk, b.pk, AM_PUBKEY_BYTES) == 0);
  CHECK(memcmp(a.sk, b.sk, AM_SECKEY_BYTES) == 0);

  const uint8_t msg[] = "announcement";
  uint8_t sig[AM_SIG_BYTES];
  CHECK_INT(am_sign(&b, msg, sizeof msg, sig), 0);
  CHECK_INT(am_verify(a.pk, msg, sizeof msg, sig), 0);
  am_identity_wipe(&a);
  am_identity_wipe(&b);
}

static void test_save_mode_with_umask_0(void) {
  char path[512];
  am_identity id;
  mode_t old = umask(0);
  int rc = make_key_file("umask0.key", &id, path, sizeof path);
  umask(old);
  REQUIRE(rc == 0);
  struct stat st;
  REQUIRE(stat(path, &st) == 0);
  CHECK_INT(st.st_mode & 07777, 0600);
  am_identity_wipe(&id);

  /* a umask that takes the owner's write bit still gives exactly 0600 */
  old = umask(0277);
  rc = make_key_file("umask277.key", &id, path, sizeof path);
  umask(old);
  REQUIRE(rc == 0);
  REQUIRE(stat(path, &st) == 0);
  CHECK_INT(st.st_mode & 07777, 0600);
  am_identity_wipe(&id);
}

static void test_save_refuses_overwrite(void) {
  char path[512], buf[64];
  am_identity id;
  am_error err = {0};
  tpath(path, sizeof path, "existing.key");
  REQUIRE(write_file(path, "precious\n", 9, 0600) == 0);
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  CHECK_INT(am_identity_save(&id, path, &err), AM_EEXIST);
  CHECK_INT(err.code, AM_EEXIST);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK_INT(read_file(path, buf, sizeof buf), 9);
  CHECK_STR(buf, "precious\n");

  /* nor through a symbolic link, even a dangling one */
  char link[512], target[512];
  tpath(link, sizeof link, "dangling.key");
  tpath(target, sizeof target, "nowhere.key");
  unlink(link);
  REQUIRE(symlink(target, link) == 0);
  CHECK_INT(am_identity_save(&id, link, &err), AM_EEXIST);
  CHECK(access(target, F_OK) != 0);
  am_identity_wipe(&id);
}

static void test_save_errors(void) {
  char path[512];
  am_identity id;
  am_error err = {0};
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  tpath(path, sizeof path, "no-such-dir/node.key");
  CHECK_INT(am_identity_save(&id, path, &err), AM_EIO);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK(strstr(err.msg, strerror(ENOENT)) != NULL);

  /* a write that fails half-way leaves no partial file behind */
  tpath(path, sizeof path, "partial.key");
  unlink(path);
  struct rlimit old, lim;
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 10;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  int rc = am_identity_save(&id, path, &err);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  CHECK_INT(rc, AM_EIO);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK(access(path, F_OK) != 0 && errno == ENOENT);

  am_identity empty = {{0}, NULL};
  CHECK_INT(am_identity_save(&empty, path, &err), AM_EUSAGE);
  am_identity_wipe(&id);
}

static void test_load_refuses_open_modes(void) {
  char path[512];
  am_identity id;
  REQUIRE(make_key_file("modes.key", &id, path, sizeof path) == 0);
  am_identity_wipe(&id);

  REQUIRE(chmod(path, 0644) == 0);
  expect_load_error(path, AM_EINVAL, "chmod 600");
  expect_load_error(path, AM_EINVAL, "(mode 0644)");
  const mode_t bad[] = {0640, 0604, 0601, 0610, 0660, 0666, 0700 | 0070};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    REQUIRE(chmod(path, bad[i]) == 0);
    expect_load_error(path, AM_EINVAL, "accessible by other users");
  }
  /* owner-only modes are fine */
  const mode_t good[] = {0600, 0400, 0700};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    REQUIRE(chmod(path, good[i]) == 0);
    CHECK_INT(am_identity_load(&id, path, NULL), 0);
    am_identity_wipe(&id);
  }
}

/* Saves a fresh key under name, then lets edit change the file's text. */
static void make_damaged(const char *name, char *path, size_t size,
                         void (*edit)(char *text, size_t *len)) {
  am_identity id;
  char text[4096];
  if (make_key_file(name, &id, path, size) != 0) {
    CHECK(!"cannot make key file");
    return;
  }
  am_identity_wipe(&id);
  long n = read_file(path, text, sizeof text);
  CHECK(n > 0);
  size_t len = (size_t)n;
  edit(text, &len);
  CHECK(write_file(path, text, len, 0600) == 0);
}

static char *key_b64(char *text) {
  char *p = strstr(text, KEY_PREFIX);
  CHECK(p != NULL);
  return p ? p + strlen(KEY_PREFIX) : text;
}

static void flip_char(char *c) { *c = *c == 'A' ? 'B' : 'A'; }

/* base64 characters 0..41 hold the seed, 43..85 the public key */
static void flip_in_pubkey(char *text, size_t *len) {
  (void)len;
  flip_char(key_b64(text) + 60);
}
static void flip_in_seed(char *text, size_t *len) {
  (void)len;
  flip_char(key_b64(text) + 10);
}
static void truncate_b64(char *text, size_t *len) {
  char *b = key_b64(text);
  memcpy(b + 80, "\n", 2);
  *len = strlen(text);
}
static void drop_one_char(char *text, size_t *len) {
  char *b = key_b64(text);
  memmove(b + 85, b + 86, strlen(b + 86) + 1);
  *len = strlen(text);
}
static void add_one_char(char *text, size_t *len) {
  char *b = key_b64(text);
  memcpy(b + 86, "A\n", 3);
  *len = strlen(text);
}
static void plus_char(char *text, size_t *len) {
  (void)len;
  key_b64(text)[20] = '+';
}
static void padded(char *text, size_t *len) {
  char *b = key_b64(text);
  memcpy(b + 86, "==\n", 4);
  *len = strlen(text);
}
static void newer_version(char *text, size_t *len) {
  (void)len;
  key_b64(text)[-2] = '9'; /* "amicale-secret-key-v9 " */
}
static void garbage_version(char *text, size_t *len) {
  (void)len;
  key_b64(text)[-3] = 'x'; /* "amicale-secret-key-x1 " */
}
static void wrong_header(char *text, size_t *len) {
  (void)len;
  memcpy(key_b64(text) - strlen(KEY_PREFIX), "amicale-public-key-", 19);
}
static void extra_lines_crlf(char *text, size_t *len) {
  /* key line first, CRLF, trailing blanks, more lines after */
  char copy[4096];
  char *b = key_b64(text);
  char *line = b - strlen(KEY_PREFIX);
  snprintf(copy, sizeof copy, "%.*s  \r\n# another comment\nfoo bar\n",
           (int)(strlen(line) - 1), line);
  strcpy(text, copy);
  *len = strlen(text);
}

static void test_load_damaged(void) {
  char path[512];
  make_damaged("flip-pk.key", path, sizeof path, flip_in_pubkey);
  expect_load_error(path, AM_ECORRUPT,
                    "the public key does not match the secret key");
  make_damaged("flip-seed.key", path, sizeof path, flip_in_seed);
  expect_load_error(path, AM_ECORRUPT,
                    "the public key does not match the secret key");
  make_damaged("truncated.key", path, sizeof path, truncate_b64);
  expect_load_error(path, AM_ECORRUPT, "not 64 bytes of base64url");
  make_damaged("short.key", path, sizeof path, drop_one_char);
  expect_load_error(path, AM_ECORRUPT, "not 64 bytes of base64url");
  make_damaged("long.key", path, sizeof path, add_one_char);
  expect_load_error(path, AM_ECORRUPT, "not 64 bytes of base64url");
  make_damaged("plus.key", path, sizeof path, plus_char);
  expect_load_error(path, AM_ECORRUPT, "not 64 bytes of base64url");
  make_damaged("padded.key", path, sizeof path, padded);
  expect_load_error(path, AM_ECORRUPT, "not 64 bytes of base64url");
  make_damaged("wrong-header.key", path, sizeof path, wrong_header);
  expect_load_error(path, AM_ECORRUPT, "is not an Amicale key file");
  make_damaged("garbage-version.key", path, sizeof path, garbage_version);
  expect_load_error(path, AM_ECORRUPT, "damaged key file");
  make_damaged("v9.key", path, sizeof path, newer_version);
  expect_load_error(path, AM_ENEWER, "newer version of Amicale");
}

static void test_load_other_files(void) {
  char path[512];

  tpath(path, sizeof path, "empty.key");
  REQUIRE(write_file(path, "", 0, 0600) == 0);
  expect_load_error(path, AM_ECORRUPT, "damaged key file");

  tpath(path, sizeof path, "ssh.key");
  const char *ssh =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n";
  REQUIRE(write_file(path, ssh, strlen(ssh), 0600) == 0);
  expect_load_error(path, AM_ECORRUPT, "is not an Amicale key file");

  tpath(path, sizeof path, "v9-only.key");
  const char *v9 = "amicale-secret-key-v9 whatever-v9-puts-here\n";
  REQUIRE(write_file(path, v9, strlen(v9), 0600) == 0);
  expect_load_error(path, AM_ENEWER, "newer version");

  tpath(path, sizeof path, "no-key.key");
  const char *nokey = "amicale-secret-key-v1\n";
  REQUIRE(write_file(path, nokey, strlen(nokey), 0600) == 0);
  expect_load_error(path, AM_ECORRUPT, "damaged key file");

  tpath(path, sizeof path, "big.key");
  char big[5000];
  memset(big, '#', sizeof big);
  REQUIRE(write_file(path, big, sizeof big, 0600) == 0);
  expect_load_error(path, AM_ECORRUPT, "damaged key file");

  tpath(path, sizeof path, "missing.key");
  unlink(path);
  expect_load_error(path, AM_ENOTFOUND, NULL);

  tpath(path, sizeof path, "a-directory");
  rmdir(path);
  REQUIRE(mkdir(path, 0700) == 0);
  expect_load_error(path, AM_EINVAL, "not a regular file");
  rmdir(path);

  /* a FIFO is refused at once rather than blocking the open */
  tpath(path, sizeof path, "fifo.key");
  unlink(path);
  REQUIRE(mkfifo(path, 0600) == 0);
  expect_load_error(path, AM_EINVAL, "not a regular file");
  unlink(path);
}

static void test_load_refuses_symlink(void) {
  char path[512], link[512];
  am_identity id;
  REQUIRE(make_key_file("target.key", &id, path, sizeof path) == 0);
  am_identity_wipe(&id);
  tpath(link, sizeof link, "link.key");
  unlink(link);
  REQUIRE(symlink(path, link) == 0);
  expect_load_error(link, AM_EINVAL, "symbolic link");
  CHECK_INT(am_identity_load(&id, path, NULL), 0); /* the target itself */
  am_identity_wipe(&id);
}

static void test_load_lenient_layout(void) {
  char path[512];
  make_damaged("layout.key", path, sizeof path, extra_lines_crlf);
  am_identity id;
  am_error err = {0};
  CHECK_INT(am_identity_load(&id, path, &err), 0);
  CHECK(id.sk != NULL);
  am_identity_wipe(&id);
}

static void test_pubkey_known_answer(void) {
  uint8_t seed[32], pk[AM_PUBKEY_BYTES], sk[AM_SECKEY_BYTES];
  char text[AM_PUBKEY_TEXT_LEN + 1];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  REQUIRE(am_crypto_init() == 0);
  REQUIRE(crypto_sign_seed_keypair(pk, sk, seed) == 0);
  am_pubkey_to_text(pk, text);
  CHECK_STR(text, KAT_PUBKEY_TEXT);

  /* and the same through a key file, which derives pk from the seed */
  uint8_t kat_pk[AM_PUBKEY_BYTES], raw[64];
  REQUIRE(am_pubkey_from_text(KAT_PUBKEY_TEXT, kat_pk, NULL) == 0);
  CHECK(memcmp(kat_pk, pk, sizeof pk) == 0);
  memcpy(raw, seed, 32);
  memcpy(raw + 32, kat_pk, 32);
  char b64[sodium_base64_ENCODED_LEN(
      64, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char file[256], path[512];
  snprintf(file, sizeof file, "# comment\n" KEY_PREFIX "%s\n", b64);
  tpath(path, sizeof path, "kat.key");
  REQUIRE(write_file(path, file, strlen(file), 0600) == 0);
  am_identity id;
  am_error err = {0};
  REQUIRE(am_identity_load(&id, path, &err) == 0);
  CHECK(memcmp(id.pk, kat_pk, AM_PUBKEY_BYTES) == 0);
  CHECK(memcmp(id.sk, sk, AM_SECKEY_BYTES) == 0);
  am_identity_wipe(&id);

  /* the known key with a wrong seed is a damaged file */
  raw[0] ^= 1;
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(file, sizeof file, KEY_PREFIX "%s\n", b64);
  REQUIRE(write_file(path, file, strlen(file), 0600) == 0);
  expect_load_error(path, AM_ECORRUPT, "does not match");
}

static void test_pubkey_text_roundtrip(void) {
  for (int round = 0; round < 50; round++) {
    uint8_t pk[AM_PUBKEY_BYTES], back[AM_PUBKEY_BYTES];
    char text[AM_PUBKEY_TEXT_LEN + 1];
    am_random(pk, sizeof pk);
    am_pubkey_to_text(pk, text);
    CHECK_INT(strlen(text), AM_PUBKEY_TEXT_LEN);
    CHECK(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789-_") == AM_PUBKEY_TEXT_LEN);
    CHECK_INT(am_pubkey_from_text(text, back, NULL), 0);
    CHECK(memcmp(pk, back, sizeof pk) == 0);
  }
}

static void test_pubkey_from_text_whitespace(void) {
  const char *ok[] = {
      KAT_PUBKEY_TEXT "\n", "  " KAT_PUBKEY_TEXT "  ",
      "\t" KAT_PUBKEY_TEXT "\r\n", "\n " KAT_PUBKEY_TEXT "\v\f",
  };
  uint8_t want[AM_PUBKEY_BYTES];
  REQUIRE(am_pubkey_from_text(KAT_PUBKEY_TEXT, want, NULL) == 0);
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint8_t pk[AM_PUBKEY_BYTES] = {0};
    CHECK_INT(am_pubkey_from_text(ok[i], pk, NULL), 0);
    CHECK(memcmp(pk, want, sizeof pk) == 0);
  }
}

static void expect_bad_pubkey(const char *text) {
  uint8_t pk[AM_PUBKEY_BYTES];
  memset(pk, 0xAA, sizeof pk);
  am_error err = {0};
  int rc = am_pubkey_from_text(text, pk, &err);
  if (rc != AM_EINVAL) fprintf(stderr, "accepted: \"%s\"\n", text);
  CHECK_INT(rc, AM_EINVAL);
  CHECK_INT(err.code, AM_EINVAL);
  CHECK(strstr(err.msg, "is not a node key (expected 43 characters of "
                        "base64url, as printed by `amicale id`)") != NULL);
  CHECK(err.msg[0] == '\'');
  for (size_t i = 0; i < sizeof pk; i++) CHECK(pk[i] == 0xAA); /* untouched */
}

static void test_pubkey_from_text_rejects(void) {
  const char *kat = KAT_PUBKEY_TEXT;
  char buf[128];
  expect_bad_pubkey("");
  expect_bad_pubkey("   \n");
  expect_bad_pubkey(NULL);
  snprintf(buf, sizeof buf, "%.42s", kat); /* 42 characters */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%sA", kat); /* 44 characters */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%.42s=", kat); /* padding in place of a char */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%s=", kat); /* padded form */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%s", kat);
  buf[4] = '+'; /* standard alphabet, not URL-safe */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%s", kat);
  buf[4] = '/';
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%s", kat);
  buf[20] = ' '; /* white space inside */
  expect_bad_pubkey(buf);
  snprintf(buf, sizeof buf, "%s", kat);
  buf[42] = 'h'; /* 'g' + 1: non-zero trailing bits, a non-canonical form */
  expect_bad_pubkey(buf);

  /* a long input is quoted shortened */
  char longtext[1000];
  memset(longtext, 'x', sizeof longtext - 1);
  longtext[sizeof longtext - 1] = '\0';
  am_error err = {0};
  uint8_t pk[AM_PUBKEY_BYTES];
  CHECK_INT(am_pubkey_from_text(longtext, pk, &err), AM_EINVAL);
  CHECK(strstr(err.msg, "...' is not a node key") != NULL);
  CHECK(strlen(err.msg) < 200);
}

static void test_sign_verify(void) {
  am_identity id, other;
  REQUIRE(am_identity_generate(&id, NULL) == 0);
  REQUIRE(am_identity_generate(&other, NULL) == 0);
  uint8_t msg[] = "member 42 joined";
  uint8_t sig[AM_SIG_BYTES];
  REQUIRE(am_sign(&id, msg, sizeof msg, sig) == 0);
  CHECK_INT(am_verify(id.pk, msg, sizeof msg, sig), 0);

  msg[3] ^= 0x01; /* tampered message */
  CHECK_INT(am_verify(id.pk, msg, sizeof msg, sig), AM_EINVAL);
  msg[3] ^= 0x01;
  CHECK_INT(am_verify(id.pk, msg, sizeof msg - 1, sig), AM_EINVAL);
  sig[10] ^= 0x80; /* tampered signature */
  CHECK_INT(am_verify(id.pk, msg, sizeof msg, sig), AM_EINVAL);
  sig[10] ^= 0x80;
  CHECK_INT(am_verify(id.pk, msg, sizeof msg, sig), 0);
  CHECK_INT(am_verify(other.pk, msg, sizeof msg, sig), AM_EINVAL);

  /* empty message */
  REQUIRE(am_sign(&id, NULL, 0, sig) == 0);
  CHECK_INT(am_verify(id.pk, NULL, 0, sig), 0);
  CHECK_INT(am_verify(other.pk, NULL, 0, sig), AM_EINVAL);

  am_identity_wipe(&id);
  CHECK_INT(am_sign(&id, msg, sizeof msg, sig), AM_EUSAGE);
  am_identity_wipe(&other);
}

static void test_random(void) {
  uint8_t a[32] = {0}, b[32] = {0};
  am_random(a, sizeof a);
  am_random(b, sizeof b);
  CHECK(memcmp(a, b, sizeof a) != 0);
  am_random(NULL, 0);
}

static void remove_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (d) {
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      tpath(path, sizeof path, e->d_name);
      if (unlink(path) != 0) rmdir(path);
    }
    closedir(d);
  }
  if (rmdir(tmpdir) != 0)
    fprintf(stderr, "cannot remove %s: %s\n", tmpdir, strerror(errno));
}

int main(void) {
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return EXIT_FAILURE;
  }
  RUN(test_init);
  RUN(test_generate);
  RUN(test_wipe);
  RUN(test_save_load_roundtrip);
  RUN(test_save_mode_with_umask_0);
  RUN(test_save_refuses_overwrite);
  RUN(test_save_errors);
  RUN(test_load_refuses_open_modes);
  RUN(test_load_damaged);
  RUN(test_load_other_files);
  RUN(test_load_refuses_symlink);
  RUN(test_load_lenient_layout);
  RUN(test_pubkey_known_answer);
  RUN(test_pubkey_text_roundtrip);
  RUN(test_pubkey_from_text_whitespace);
  RUN(test_pubkey_from_text_rejects);
  RUN(test_sign_verify);
  RUN(test_random);
  remove_tmpdir();
  return TEST_SUMMARY();
}
