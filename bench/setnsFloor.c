/* The floor for reading namespaces on this machine, after ../shared/anchors/setns-limit.c: enter
 * each namespace with setns(2) from one thread, read /proc/thread-self/net/dev and
 * nf_conntrack_count, come home. No parsing, no output. Unlike the anchor it reads only the
 * namespaces whose names start with a prefix (the benchmark's own, while others exist on the host)
 * and repeats the pass: the first round is a fresh process's, the later ones are steady state.
 *   gcc -O2 -o setns-floor setnsFloor.c && ./setns-floor /run/netns nxb123-r- 5     (as root)
 * Prints one line per round: "<namespaces> <wall ms> <cpu ms>". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s <netns dir> <prefix> [rounds]\n", argv[0]); return 2; }
  const char *dir = argv[1], *prefix = argv[2];
  int rounds = argc > 3 ? atoi(argv[3]) : 1;
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
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror(path); return 1; }
      close(fd);
      drain("/proc/thread-self/net/dev", buf, sizeof buf, &total);
      drain("/proc/sys/net/netfilter/nf_conntrack_count", buf, sizeof buf, &total);
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
