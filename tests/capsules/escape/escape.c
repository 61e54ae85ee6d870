/* escape: tries to reach host files outside its /data preopen.
 *
 * The first two attempts call WASI path_open directly on the /data directory descriptor, so they
 * test the runtime's WASI host rather than wasi-libc's own path checks; the third goes through
 * libc, which hands the host "../../etc/passwd" relative to /data. A positive control (opening
 * "." in /data) shows the attempts were real.
 *
 * Output, one line per attempt:
 *   control: path_open . ok
 *   path_open ../../etc/passwd: refused (errno 76)
 *   path_open /etc/passwd: refused (errno 76)
 *   open /data/../../etc/passwd: refused (errno 76)
 * (the errno is whatever the host chose: 76 ENOTCAPABLE, 63 EPERM, 2/44 ENOENT, …; "ESCAPED" and
 * the first bytes read when an attempt succeeds).
 *
 * Exit codes: 0 every attempt refused; 3 any attempt opened a host file; 1 the control failed
 * (no /data preopen, so the result says nothing). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

/* The descriptor of the "/data" preopen: scan upwards from 3 like wasi-libc does. */
static int find_data_fd(void) {
  for (__wasi_fd_t fd = 3; fd < 64; ++fd) {
    __wasi_prestat_t prestat;
    if (__wasi_fd_prestat_get(fd, &prestat) != 0) return -1;
    char name[64] = {0};
    if (prestat.u.dir.pr_name_len < sizeof name &&
        __wasi_fd_prestat_dir_name(fd, (uint8_t*)name, prestat.u.dir.pr_name_len) == 0 &&
        strcmp(name, "/data") == 0) {
      return (int)fd;
    }
  }
  return -1;
}

static int report_fd(const char* what, int fd_or_minus, int err) {
  if (fd_or_minus < 0) {
    printf("%s: refused (errno %d)\n", what, err);
    return 0;
  }
  char buf[32] = {0};
  const ssize_t n = read(fd_or_minus, buf, sizeof buf - 1);
  for (ssize_t i = 0; i < n; ++i) {
    if (buf[i] == '\n' || buf[i] < 0x20) buf[i] = ' ';
  }
  printf("%s: ESCAPED (read \"%s\")\n", what, n > 0 ? buf : "");
  close(fd_or_minus);
  return 1;
}

static int raw_open(int dir, const char* path) {
  __wasi_fd_t fd = 0;
  const __wasi_errno_t e = __wasi_path_open((__wasi_fd_t)dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                                            path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return (int)fd;
}

int main(void) {
  const int data = find_data_fd();
  const int control = data < 0 ? -1 : raw_open(data, ".");
  if (control < 0) {
    printf("control: path_open . failed (errno %d): no usable /data preopen\n",
           data < 0 ? -1 : errno);
    return 1;
  }
  close(control);
  printf("control: path_open . ok\n");

  int escaped = 0;
  int fd = raw_open(data, "../../etc/passwd");
  escaped |= report_fd("path_open ../../etc/passwd", fd, errno);
  fd = raw_open(data, "/etc/passwd");
  escaped |= report_fd("path_open /etc/passwd", fd, errno);
  fd = open("/data/../../etc/passwd", O_RDONLY);
  escaped |= report_fd("open /data/../../etc/passwd", fd, errno);
  return escaped ? 3 : 0;
}
