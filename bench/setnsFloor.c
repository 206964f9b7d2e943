/* The floor for reading namespaces on this machine, after ../shared/anchors/setns-limit.c: enter
 * each namespace with setns(2) from one thread, read /proc/thread-self/net/dev and
 * nf_conntrack_count, come home. No parsing, no output. Unlike the anchor it reads only the
 * namespaces whose names start with a prefix (the benchmark's own, while others exist on the host)
 * and repeats the pass: the first round is a fresh process's, the later ones are steady state.
 *   gcc -O2 -o setns-floor setnsFloor.c && ./setns-floor /run/netns nxb123-r- 5     (as root)
 * With a fourth argument `netlink` it does what the setns reader's worker does instead: the two
 * rtnetlink dumps (addresses, links) over a fresh socket in place of /proc/net/dev, fstat of the
 * namespace file, and a readlink of its own namespace after coming home.
 * Prints one line per round: "<namespaces> <wall ms> <cpu ms>". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double ms(struct timespec t) { return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static double cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static void drain(const char *file, char *buf, size_t size, long *total) {
  int f = open(file, O_RDONLY);
  if (f < 0) return;
  ssize_t r;
  while ((r = read(f, buf, size)) > 0) *total += r;
  close(f);
}

/* One rtnetlink dump (RTM_GETADDR or RTM_GETLINK), read to NLMSG_DONE. */
static void dump(int s, int type, char *buf, size_t size, long *total) {
  struct { struct nlmsghdr h; struct ifinfomsg i; } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.i.ifi_family = type == RTM_GETLINK ? AF_PACKET : AF_UNSPEC;
  send(s, &req, sizeof req, 0);
  for (;;) {
    ssize_t n = recv(s, buf, size, 0);
    if (n <= 0) return;
    *total += n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s <netns dir> <prefix> [rounds]\n", argv[0]); return 2; }
  const char *dir = argv[1], *prefix = argv[2];
  int rounds = argc > 3 ? atoi(argv[3]) : 1;
  int netlink = argc > 4 && strcmp(argv[4], "netlink") == 0;
  size_t plen = strlen(prefix);
  int self = open("/proc/self/ns/net", O_RDONLY);
  static char buf[65536];
  char path[4096];
  for (int round = 0; round < rounds; round++) {
    struct timespec a, b;
    double cpu = cpu_ms();
    clock_gettime(CLOCK_MONOTONIC, &a);
    DIR *d = opendir(dir);
    if (d == NULL) { perror("opendir"); return 1; }
    struct dirent *e;
    long total = 0;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, prefix, plen) != 0) continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      int fd = open(path, O_RDONLY);
      struct stat st;
      if (netlink) fstat(fd, &st);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror(path); return 1; }
      close(fd);
      if (netlink) {
        int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        dump(s, RTM_GETADDR, buf, sizeof buf, &total);
        dump(s, RTM_GETLINK, buf, sizeof buf, &total);
        close(s);
      } else {
        drain("/proc/thread-self/net/dev", buf, sizeof buf, &total);
      }
      drain("/proc/sys/net/netfilter/nf_conntrack_count", buf, sizeof buf, &total);
      if (netlink) {
        if (setns(self, CLONE_NEWNET) != 0) { perror("setns home"); return 1; }
        char link[64];
        readlink("/proc/thread-self/ns/net", link, sizeof link);
      }
      n++;
    }
    closedir(d);
    if (setns(self, CLONE_NEWNET) != 0) { perror("setns home"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%d %.2f %.2f\n", n, ms(b) - ms(a), cpu_ms() - cpu);
    fflush(stdout);
  }
  return 0;
}
