// SPDX-License-Identifier: Apache-2.0
/*
 * naivefwd: the "naive userspace" anchor of the bench. A minimal VXLAN forwarder in C
 * between a TUN and one UDP socket, in the style of flannel's old UDP backend and of
 * baseline.md's naive-C: a poll() loop, one read and one send per packet, no batching,
 * no offloads, one peer. It shows in the same run what any userspace forwarder that
 * sleeps between packets costs on this machine (the wakeups), apart from what vxtun's
 * own code costs.
 *
 *   naivefwd -t <tun> -l <local ip> -r <remote ip> [-p port (8472)] [-v vni (1)]
 *            [-m local VTEP MAC] [-M remote VTEP MAC]
 *
 * Creates (or attaches to) TUN <tun> (IFF_TUN | IFF_NO_PI), binds UDP <local ip>:port
 * (DF clear, as the kernel VXLAN sends), prints "ready" on stdout and forwards until
 * SIGTERM/SIGINT:
 *   TUN → an inner IPv4 packet gets inner Ethernet (remote MAC ← local MAC, IPv4) and a
 *         VXLAN header (flags 0x08, the VNI) and goes to <remote ip>:port;
 *   UDP → a datagram from <remote ip> with the I flag, the VNI and an IPv4 inner frame
 *         has its 22 header bytes stripped and is written to the TUN; anything else is
 *         counted as dropped.
 * On exit it prints one JSON line of counters on stdout and exits 0; 2 on bad arguments
 * or setup failure. The caller sets the TUN up and routes the peer's subnet into it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define VXLAN_LEN 8
#define ETH_LEN 14
#define HDR_LEN (VXLAN_LEN + ETH_LEN)
#define BUF_LEN 65536

static volatile sig_atomic_t stop_flag = 0;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int parse_mac(const char *s, uint8_t out[6]) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 0xff) return -1;
    out[i] = (uint8_t)v[i];
  }
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: naivefwd -t <tun> -l <local ip> -r <remote ip> [-p port] [-v vni] [-m local mac] [-M remote mac]\n");
  return 2;
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) { perror("naivefwd: open /dev/net/tun"); return -1; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("naivefwd: TUNSETIFF"); close(fd); return -1; }
  return fd;
}

static int open_udp(struct in_addr local, long port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { perror("naivefwd: socket"); return -1; }
  int pmtu = IP_PMTUDISC_DONT;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = local };
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("naivefwd: bind"); close(fd); return -1; }
  return fd;
}

int main(int argc, char **argv) {
  const char *tun_name = NULL;
  struct in_addr local = { 0 }, remote = { 0 };
  long port = 8472, vni = 1;
  uint8_t local_mac[6] = { 0x02, 0xf1, 0, 0, 0, 1 }, remote_mac[6] = { 0x02, 0xf1, 0, 0, 0, 2 };
  int have_local = 0, have_remote = 0, opt;
  while ((opt = getopt(argc, argv, "t:l:r:p:v:m:M:")) != -1) {
    switch (opt) {
      case 't': tun_name = optarg; break;
      case 'l': have_local = inet_pton(AF_INET, optarg, &local) == 1; break;
      case 'r': have_remote = inet_pton(AF_INET, optarg, &remote) == 1; break;
      case 'p': port = strtol(optarg, NULL, 10); break;
      case 'v': vni = strtol(optarg, NULL, 10); break;
      case 'm': if (parse_mac(optarg, local_mac) != 0) return usage(); break;
      case 'M': if (parse_mac(optarg, remote_mac) != 0) return usage(); break;
      default: return usage();
    }
  }
  if (!tun_name || strlen(tun_name) >= IFNAMSIZ || !have_local || !have_remote || port <= 0 || port > 65535 || vni < 0 || vni > 0xffffff)
    return usage();

  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = on_signal; /* no SA_RESTART: a signal interrupts poll() */
  sigaction(SIGTERM, &act, NULL);
  sigaction(SIGINT, &act, NULL);

  int tun = open_tun(tun_name);
  if (tun < 0) return 2;
  int udp = open_udp(local, port);
  if (udp < 0) return 2;
  struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = remote };
  const uint8_t vxlan[VXLAN_LEN] = { 0x08, 0, 0, 0, (uint8_t)(vni >> 16), (uint8_t)(vni >> 8), (uint8_t)vni, 0 };

  static uint8_t tx[HDR_LEN + BUF_LEN], rx[HDR_LEN + BUF_LEN];
  /* The headers of every encapsulated packet are the same: write them once. */
  memcpy(tx, vxlan, VXLAN_LEN);
  memcpy(tx + VXLAN_LEN, remote_mac, 6);
  memcpy(tx + VXLAN_LEN + 6, local_mac, 6);
  tx[VXLAN_LEN + 12] = 0x08;
  tx[VXLAN_LEN + 13] = 0x00;

  printf("ready\n");
  fflush(stdout);
  unsigned long long encap = 0, decap = 0, dropped = 0, errors = 0;
  struct pollfd fds[2] = { { .fd = tun, .events = POLLIN }, { .fd = udp, .events = POLLIN } };
  while (!stop_flag) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      perror("naivefwd: poll");
      return 2;
    }
    if (fds[0].revents & POLLIN) {
      ssize_t n = read(tun, tx + HDR_LEN, BUF_LEN);
      if (n < 0) errors++;
      else if (n < 20 || (tx[HDR_LEN] >> 4) != 4) dropped++;
      else if (sendto(udp, tx, (size_t)n + HDR_LEN, 0, (struct sockaddr *)&peer, sizeof peer) < 0) errors++;
      else encap++;
    }
    if (fds[1].revents & POLLIN) {
      struct sockaddr_in from;
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(udp, rx, sizeof rx, 0, (struct sockaddr *)&from, &flen);
      if (n < 0) errors++;
      else if (n < HDR_LEN + 20 || from.sin_addr.s_addr != remote.s_addr || !(rx[0] & 0x08) || memcmp(rx + 4, vxlan + 4, 3) != 0 ||
          rx[VXLAN_LEN + 12] != 0x08 || rx[VXLAN_LEN + 13] != 0x00)
        dropped++;
      else if (write(tun, rx + HDR_LEN, (size_t)n - HDR_LEN) < 0) errors++;
      else decap++;
    }
  }
  printf("{\"encap\":%llu,\"decap\":%llu,\"dropped\":%llu,\"errors\":%llu}\n", encap, decap, dropped, errors);
  return 0;
}
