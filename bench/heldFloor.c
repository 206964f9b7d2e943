/* The floor for a reader that keeps each namespace open between cycles, after
 * ../shared/anchors/held-limit.c: enter every namespace once, open /proc/thread-self/net/dev,
 * nf_conntrack_count and an rtnetlink socket there, come home; then each round re-reads them all
 * without entering anything: pread() both files and one RTM_GETLINK dump per namespace. Unlike the
 * anchor it reads only the namespaces whose names start with a prefix (the benchmark's own, while
 * others exist on the host), and prints the setup as its first round.
 *   gcc -O2 -o held-floor heldFloor.c && ./held-floor /run/netns nxb123-r- 6     (as root)
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
#include <time.h>
#include <unistd.h>

static double ms(struct timespec t) { return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static double cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

static char buf[1 << 16];

static long dump(int s) {
  struct { struct nlmsghdr h; struct ifinfomsg i; } r = {{sizeof r, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0}, {0}};
  if (send(s, &r, sizeof r, 0) < 0) return -1;
  long total = 0;
  for (;;) {
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    total += n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) return total;
  }
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s <netns dir> <prefix> [rounds]\n", argv[0]); return 2; }
  const char *dir = argv[1], *prefix = argv[2];
  int rounds = argc > 3 ? atoi(argv[3]) : 6;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int self = open("/proc/self/ns/net", O_RDONLY);
  DIR *d = opendir(dir);
  if (self < 0 || d == NULL) { perror("open"); return 1; }
  int cap = 65536, n = 0;
  int *dev = malloc(cap * sizeof(int)), *ct = malloc(cap * sizeof(int)), *nl = malloc(cap * sizeof(int));
  struct dirent *e;
  char path[4096];
  struct timespec a, b;
  double cpu = cpu_ms();
  clock_gettime(CLOCK_MONOTONIC, &a);
  while ((e = readdir(d)) != NULL && n < cap) {
    if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror("setns"); return 1; }
    close(fd);
    dev[n] = open("/proc/thread-self/net/dev", O_RDONLY);
    ct[n] = open("/proc/sys/net/netfilter/nf_conntrack_count", O_RDONLY);
    nl[n] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (dev[n] < 0 || nl[n] < 0) { perror("open in namespace"); return 1; }
    n++;
  }
  if (setns(self, CLONE_NEWNET) != 0) { perror("setns home"); return 1; }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%d %.2f %.2f\n", n, ms(b) - ms(a), cpu_ms() - cpu);
  for (int r = 0; r < rounds; r++) {
    cpu = cpu_ms();
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
      if (pread(dev[i], buf, sizeof buf, 0) < 0) { perror("pread"); return 1; }
      if (ct[i] >= 0 && pread(ct[i], buf, sizeof buf, 0) < 0) { perror("pread"); return 1; }
      if (dump(nl[i]) < 0) { perror("dump"); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%d %.2f %.2f\n", n, ms(b) - ms(a), cpu_ms() - cpu);
  }
  return 0;
}
