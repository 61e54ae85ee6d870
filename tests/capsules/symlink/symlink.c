/* symlink: plants symbolic links that point out of /data and tries to use them.
 *
 *   /data/link -> /etc/passwd     (absolute target)
 *   /data/up   -> ../..           (climbs out of the data directory)
 *
 * Creating the links may succeed or be refused — either is fine; what must never work is reading
 * or creating a host file *through* them. Nothing here truncates or writes an existing host file:
 * if the sandbox is broken the probes only open for reading, open /etc/passwd for writing without
 * O_TRUNC and write nothing, and create (then remove) one empty file two levels above /data.
 *
 * A control (a link inside /data to a file inside /data) is reported but does not change the exit
 * code: a runtime may refuse all symlinks.
 *
 * Output: one line per step ("symlink …: created|refused (errno N)", "read …: refused (errno N)",
 * …, "ESCAPED" when a probe succeeded).
 *
 * Exit codes: 0 every use of the links refused; 3 any read or create through them succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;

static void try_symlink(const char* target, const char* path) {
  unlink(path); /* a previous run's link */
  if (symlink(target, path) == 0) {
    printf("symlink %s -> %s: created\n", path, target);
  } else {
    printf("symlink %s -> %s: refused (errno %d)\n", path, target, errno);
  }
}

static void probe(const char* what, const char* path, int flags) {
  const int fd = open(path, flags, 0600);
  if (fd < 0) {
    printf("%s %s: refused (errno %d)\n", what, path, errno);
    return;
  }
  escaped = 1;
  char buf[24] = {0};
  const ssize_t n = (flags & O_ACCMODE) == O_RDONLY ? read(fd, buf, sizeof buf - 1) : 0;
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] < 0x20) buf[i] = ' ';
  }
  printf("%s %s: ESCAPED%s%s%s\n", what, path, n > 0 ? " (read \"" : "", n > 0 ? buf : "",
         n > 0 ? "\")" : "");
  close(fd);
  if (flags & O_CREAT) unlink(path); /* leave nothing behind on the host */
}

int main(void) {
  try_symlink("/etc/passwd", "/data/link");
  try_symlink("../..", "/data/up");

  probe("read", "/data/link", O_RDONLY);
  probe("open-for-write", "/data/link", O_WRONLY);
  probe("read", "/data/up/etc/passwd", O_RDONLY);
  probe("create", "/data/up/elastos-symlink-probe", O_WRONLY | O_CREAT | O_EXCL);
  probe("create", "/data/up/../../../tmp/elastos-symlink-probe", O_WRONLY | O_CREAT | O_EXCL);

  /* Control: a link that stays inside /data. */
  FILE* f = fopen("/data/inside.txt", "w");
  if (f != NULL) {
    fputs("inside\n", f);
    fclose(f);
  }
  unlink("/data/inside-link");
  char buf[16] = {0};
  int ok = symlink("inside.txt", "/data/inside-link") == 0;
  if (ok) {
    const int fd = open("/data/inside-link", O_RDONLY);
    ok = fd >= 0 && read(fd, buf, sizeof buf - 1) == 7 && strcmp(buf, "inside\n") == 0;
    if (fd >= 0) close(fd);
  }
  printf("control: link inside /data %s\n", ok ? "works" : "refused");

  unlink("/data/link");
  unlink("/data/up");
  unlink("/data/inside-link");
  unlink("/data/inside.txt");
  return escaped ? 3 : 0;
}
