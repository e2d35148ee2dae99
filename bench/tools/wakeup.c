// SPDX-License-Identifier: Apache-2.0
/*
 * wakeup: what one thread waking another costs on this machine, the price every userspace
 * hop of a packet pays (a TUN or socket read that was sleeping in epoll).
 *
 *   wakeup -a <cpu> -b <cpu> [-n rounds (2000)] [-s idle µs between rounds (2000)]
 *
 * Two processes pinned to cpus a and b ping-pong one byte over two pipes, each sleeping in
 * epoll_wait between messages; before each round the first one sleeps for the idle time,
 * as a ping at 2 ms intervals leaves the machine idle. Prints one JSON line on stdout:
 *
 *   {"cpu_a":A,"cpu_b":B,"rounds":N,"rtt_p50_us":X,"rtt_p99_us":Y}
 *
 * A round trip is two wakeups. Exit 2 on bad arguments or setup failure.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static int pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

/* Waits for one byte on fd through epoll (so the thread sleeps as an event loop does). */
static int wait_byte(int ep, int fd) {
  struct epoll_event ev;
  char c;
  if (epoll_wait(ep, &ev, 1, 5000) != 1) return -1;
  return read(fd, &c, 1) == 1 ? 0 : -1;
}

static int watch(int fd) {
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data = {.fd = fd}};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) return -1;
  return ep;
}

int main(int argc, char** argv) {
  int a = -1, b = -1, rounds = 2000, idle = 2000, opt;
  while ((opt = getopt(argc, argv, "a:b:n:s:")) != -1) {
    if (opt == 'a') a = atoi(optarg);
    else if (opt == 'b') b = atoi(optarg);
    else if (opt == 'n') rounds = atoi(optarg);
    else if (opt == 's') idle = atoi(optarg);
    else return 2;
  }
  if (a < 0 || b < 0 || rounds < 10 || idle < 0) {
    fprintf(stderr, "usage: wakeup -a <cpu> -b <cpu> [-n rounds >= 10] [-s idle µs]\n");
    return 2;
  }
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) { perror("pipe"); return 2; }
  pid_t child = fork();
  if (child < 0) { perror("fork"); return 2; }
  if (child == 0) {
    int ep = watch(ping[0]);
    if (pin(b) != 0 || ep < 0) _exit(2);
    for (int i = 0; i < rounds; i++) {
      if (wait_byte(ep, ping[0]) != 0 || write(pong[1], "x", 1) != 1) _exit(1);
    }
    _exit(0);
  }
  int ep = watch(pong[0]);
  if (pin(a) != 0 || ep < 0) { fprintf(stderr, "cannot pin to cpu %d\n", a); kill(child, SIGKILL); return 2; }
  double* rtt = malloc(sizeof(double) * rounds);
  for (int i = 0; i < rounds; i++) {
    usleep(idle);
    double t0 = now_us();
    if (write(ping[1], "x", 1) != 1 || wait_byte(ep, pong[0]) != 0) {
      fprintf(stderr, "round %d failed\n", i);
      kill(child, SIGKILL);
      return 2;
    }
    rtt[i] = now_us() - t0;
  }
  int status;
  waitpid(child, &status, 0);
  qsort(rtt, rounds, sizeof(double), cmp_double);
  printf("{\"cpu_a\":%d,\"cpu_b\":%d,\"rounds\":%d,\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f}\n", a, b, rounds,
         rtt[rounds / 2], rtt[(rounds * 99) / 100]);
  return 0;
}
