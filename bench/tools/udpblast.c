// SPDX-License-Identifier: Apache-2.0
/*
 * udpblast: a small-UDP load generator for the namespace bench (one flow, sendmmsg).
 *
 *   udpblast -d <dst ip> -p <port> [-s payload bytes (18)] [-t seconds (10)]
 *            [-r offered rate in packets/s, 0 = as fast as possible (0)] [-b batch (64)]
 *
 * It connects one UDP socket to dst:port and sends `-s`-byte datagrams with sendmmsg for
 * `-t` seconds. With `-r`, it paces to the offered rate: whenever it wakes it sends what is
 * due by the clock (at most one batch), then sleeps until the next packet is due. Datagrams
 * the kernel refuses (ENOBUFS, ECONNREFUSED from an ICMP error, ...) are counted as errors,
 * not as sent. At the end it prints one JSON line on stdout:
 *
 *   {"sent":N,"errors":E,"seconds":S,"offered_pps":R,"sent_pps":P,"cpu_user_s":U,"cpu_sys_s":Y}
 *
 * Exit status 0, or 2 on bad arguments / socket setup failure (message on stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024
#define MAX_PAYLOAD 65507

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
  fprintf(stderr, "usage: udpblast -d <dst ip> -p <port> [-s bytes] [-t seconds] [-r pps] [-b batch]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *dst = NULL;
  long port = 0, payload = 18, batch = 64;
  double seconds = 10, rate = 0;
  int opt;
  while ((opt = getopt(argc, argv, "d:p:s:t:r:b:")) != -1) {
    switch (opt) {
      case 'd': dst = optarg; break;
      case 'p': port = strtol(optarg, NULL, 10); break;
      case 's': payload = strtol(optarg, NULL, 10); break;
      case 't': seconds = strtod(optarg, NULL); break;
      case 'r': rate = strtod(optarg, NULL); break;
      case 'b': batch = strtol(optarg, NULL, 10); break;
      default: usage();
    }
  }
  if (!dst || port <= 0 || port > 65535 || payload < 0 || payload > MAX_PAYLOAD || seconds <= 0 || rate < 0 ||
      batch < 1 || batch > MAX_BATCH)
    usage();

  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, dst, &sa.sin_addr) != 1) usage();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("udpblast: socket"); return 2; }
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("udpblast: connect"); return 2; }

  static char buf[MAX_PAYLOAD];
  memset(buf, 0x5a, sizeof buf);
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iov[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    iov[i].iov_base = buf;
    iov[i].iov_len = (size_t)payload;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  unsigned long long sent = 0, errors = 0;
  const double start = now_s();
  double t = start;
  while ((t = now_s()) - start < seconds) {
    long n = batch;
    if (rate > 0) {
      double due = (t - start) * rate - (double)sent;
      if (due < 1) {
        double wait = (1 - due) / rate;
        struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        nanosleep(&ts, NULL);
        continue;
      }
      if (due < (double)n) n = (long)due;
    }
    int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r < 0) {
      if (errno != EINTR) errors++;
      continue;
    }
    sent += (unsigned long long)r;
    if (r < n) errors++; /* the next datagram failed; sendmmsg reports it on the next call */
  }
  double elapsed = now_s() - start;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.6f,\"offered_pps\":%.1f,\"sent_pps\":%.1f,"
         "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
         sent, errors, elapsed, rate, (double)sent / elapsed,
         (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
  close(fd);
  return 0;
}
