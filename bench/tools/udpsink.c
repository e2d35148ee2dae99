// SPDX-License-Identifier: Apache-2.0
/*
 * udpsink: the receiving end of the small-UDP bench (recvmmsg, counts and discards).
 *
 *   udpsink -p <port> [-b batch (64)] [-t max seconds, 0 = until signalled (0)]
 *
 * Binds 0.0.0.0:port (receive buffer 4 MiB, forced when privileged), prints "ready" on
 * stdout once bound, then counts datagrams until SIGTERM/SIGINT or the time limit. It then
 * prints one JSON line on stdout and exits 0:
 *
 *   {"received":N,"bytes":B,"active_seconds":A,"cpu_user_s":U,"cpu_sys_s":Y}
 *
 * active_seconds is the time between the first and the last datagram. Exit 2 on bad
 * arguments or socket setup failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define SLOT 2048

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long port = 0, batch = 64;
  double limit = 0;
  int opt;
  while ((opt = getopt(argc, argv, "p:b:t:")) != -1) {
    switch (opt) {
      case 'p': port = strtol(optarg, NULL, 10); break;
      case 'b': batch = strtol(optarg, NULL, 10); break;
      case 't': limit = strtod(optarg, NULL); break;
      default: fprintf(stderr, "usage: udpsink -p <port> [-b batch] [-t seconds]\n"); return 2;
    }
  }
  if (port <= 0 || port > 65535 || batch < 1 || batch > MAX_BATCH || limit < 0) {
    fprintf(stderr, "usage: udpsink -p <port> [-b batch] [-t seconds]\n");
    return 2;
  }
  /* No SA_RESTART: a signal interrupts the blocking recvmmsg. */
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal;
  sigaction(SIGTERM, &act, NULL);
  sigaction(SIGINT, &act, NULL);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("udpsink: socket"); return 2; }
  int one = 1, rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = { 0, 200000 }; /* wake up to check the time limit */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("udpsink: bind"); return 2; }

  static char bufs[MAX_BATCH][SLOT];
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  printf("ready\n");
  fflush(stdout);

  unsigned long long received = 0, bytes = 0;
  double start = now_s(), first = 0, last = 0;
  while (!stop_flag && (limit == 0 || now_s() - start < limit)) {
    int r = recvmmsg(fd, msgs, (unsigned)batch, MSG_WAITFORONE, NULL);
    if (r <= 0) continue; /* EINTR, EAGAIN (timeout) */
    last = now_s();
    if (received == 0) first = last;
    received += (unsigned long long)r;
    for (int i = 0; i < r; i++) bytes += msgs[i].msg_len;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"received\":%llu,\"bytes\":%llu,\"active_seconds\":%.6f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
         received, bytes, received ? last - first : 0.0,
         (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  close(fd);
  return 0;
}
