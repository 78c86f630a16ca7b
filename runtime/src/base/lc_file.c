/* lc_file.c: reading files, and noticing when a file read earlier has changed (a
 * stat first, then a content hash), which hot reload builds on. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/lc_base.h"

#define FNV_PRIME 1099511628211ULL

int lc_file_read(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return LC_ERR_IO;
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return LC_ERR_IO;
  }
  char *buf = malloc((size_t)sb.st_size + 1);
  if (!buf) {
    fclose(f);
    return LC_ERR_NOMEM;
  }
  size_t n = fread(buf, 1, (size_t)sb.st_size, f);
  fclose(f);
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return LC_OK;
}

uint64_t lc_hash_bytes(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * FNV_PRIME;
  return h;
}

static bool stat_file(const char *path, lc_file_sig *sig) {
  struct stat sb;
  if (stat(path, &sb) != 0) return false;
  sig->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
  sig->size = (int64_t)sb.st_size;
  sig->inode = (uint64_t)sb.st_ino;
  return true;
}

bool lc_file_sig_init(lc_file_sig *sig, const char *path, const char *data, size_t len) {
  *sig = (lc_file_sig){.path = strdup(path)};
  if (!sig->path) return false;
  sig->hash = lc_hash_bytes(LC_HASH_SEED, data, len);
  stat_file(path, sig);
  return true;
}

uint64_t lc_file_sig_current(lc_file_sig *sig, bool *gone) {
  lc_file_sig now = {0};
  *gone = !stat_file(sig->path, &now);
  if (*gone) return 0;
  if (now.mtime_ns == sig->mtime_ns && now.size == sig->size && now.inode == sig->inode)
    return sig->hash;
  char *data = NULL;
  size_t len = 0;
  uint64_t h = 0;
  if (lc_file_read(sig->path, &data, &len) == LC_OK) h = lc_hash_bytes(LC_HASH_SEED, data, len);
  free(data);
  if (h == sig->hash) { /* only touched: remember the new stat, skip hashing next time */
    sig->mtime_ns = now.mtime_ns;
    sig->size = now.size;
    sig->inode = now.inode;
  }
  return h;
}
