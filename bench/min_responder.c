/* The floor for the server benchmark (bench/server_bench.sh): the least an RFC 5905 server
 * can do per request and still answer correctly. recvmmsg/sendmmsg in batches of 32, kernel
 * receive timestamps (SO_TIMESTAMPNS), one blocking socket with a 4 MiB receive buffer, no
 * allocation in the loop.
 *
 *   min_responder [ADDR:]PORT      IPv4; ADDR defaults to 127.0.0.1
 *
 * Answers a datagram of 48 bytes or more in mode 3 (client) with VN 1-4, and nothing else,
 * with 48 bytes (RFC 5905 §8 fast_xmit, a stratum-1 server with a perfect clock): LI 0, VN
 * echoed, mode 4, stratum 1, poll echoed, precision -20, root delay and dispersion 0, refid
 * "MINR", reference = receive, origin = the request's transmit (bytes copied), receive = the
 * kernel's timestamp, transmit = CLOCK_REALTIME read once per batch just before the replies
 * are built. Prints "listening on ADDR:PORT" once bound; exits 0 on SIGTERM or SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define IN_SIZE 128 /* longer requests arrive truncated; only the first 48 bytes matter */
#define REPLY 48
#define NTP_UNIX_OFFSET 2208988800u /* 1900-01-01 to 1970-01-01, seconds */

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

/* 64-bit NTP timestamp, big-endian, era-blind (the wire format wraps in 2036). */
static void put_timestamp(uint8_t* p, const struct timespec* ts) {
  const uint32_t sec = (uint32_t)((uint64_t)ts->tv_sec + NTP_UNIX_OFFSET);
  const uint32_t frac = (uint32_t)(((uint64_t)ts->tv_nsec << 32) / 1000000000u);
  for (int i = 0; i < 4; ++i) {
    p[i] = (uint8_t)(sec >> (24 - 8 * i));
    p[4 + i] = (uint8_t)(frac >> (24 - 8 * i));
  }
}

static int parse_endpoint(const char* spec, struct sockaddr_in* sa) {
  char host[64] = "127.0.0.1";
  const char* port = spec;
  const char* colon = strrchr(spec, ':');
  if (colon != NULL) {
    const size_t n = (size_t)(colon - spec);
    if (n == 0 || n >= sizeof host) return -1;
    memcpy(host, spec, n);
    host[n] = '\0';
    port = colon + 1;
  }
  char* end = NULL;
  const long p = strtol(port, &end, 10);
  if (*port == '\0' || *end != '\0' || p < 1 || p > 65535) return -1;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)p);
  return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Buffers for one batch, static: nothing is allocated once the loop runs. */
static struct mmsghdr rx[BATCH], tx[BATCH];
static struct iovec rx_iov[BATCH], tx_iov[BATCH];
static struct sockaddr_in from[BATCH];
static uint8_t in[BATCH][IN_SIZE], out[BATCH][REPLY];
static char control[BATCH][CMSG_SPACE(sizeof(struct timespec)) + 64];

static int receive_time(struct msghdr* m, struct timespec* ts) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      memcpy(ts, CMSG_DATA(c), sizeof *ts);
      return 1;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  struct sockaddr_in addr;
  if (argc != 2 || parse_endpoint(argv[1], &addr) != 0) {
    fprintf(stderr, "usage: min_responder [ADDR:]PORT   (IPv4; ADDR defaults to 127.0.0.1)\n");
    return 2;
  }
  /* No SA_RESTART: a signal interrupts the blocking recvmmsg (EINTR). A signal that lands
   * between the flag check and the call is seen when SO_RCVTIMEO expires, 0.2 s later. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  const struct timeval rcv_timeout = {0, 200000};
  /* The same 4 MiB receive buffer as ntp-server's, so that the floor is not lower only because
   * a burst overflows the default buffer (forcing needs CAP_NET_ADMIN; else as far as allowed). */
  const int buffer = 4 << 20;
  if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout, sizeof rcv_timeout) != 0 ||
      bind(fd, (const struct sockaddr*)&addr, sizeof addr) != 0) {
    fprintf(stderr, "min_responder: cannot bind %s: %s\n", argv[1], strerror(errno));
    return 3;
  }
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
  printf("listening on %s:%u\n", host, (unsigned)ntohs(addr.sin_port));
  fflush(stdout);

  unsigned long long received = 0, answered = 0, send_errors = 0;
  while (!stop_requested) {
    for (int i = 0; i < BATCH; ++i) {
      rx_iov[i].iov_base = in[i];
      rx_iov[i].iov_len = IN_SIZE;
      struct msghdr* m = &rx[i].msg_hdr;
      memset(m, 0, sizeof *m);
      m->msg_name = &from[i];
      m->msg_namelen = sizeof from[i];
      m->msg_iov = &rx_iov[i];
      m->msg_iovlen = 1;
      m->msg_control = control[i];
      m->msg_controllen = sizeof control[i];
    }
    /* Blocks for the first datagram, then takes whatever else is queued, up to BATCH. */
    const int got = recvmmsg(fd, rx, BATCH, MSG_WAITFORONE, NULL);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      fprintf(stderr, "min_responder: recvmmsg: %s\n", strerror(errno));
      return 3;
    }
    received += (unsigned)got;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned n = 0;
    for (int i = 0; i < got; ++i) {
      const uint8_t* q = in[i];
      const unsigned vn = (q[0] >> 3) & 7u;
      if (rx[i].msg_len < REPLY || (q[0] & 7u) != 3 || vn < 1 || vn > 4) continue;
      struct timespec rcv;
      if (!receive_time(&rx[i].msg_hdr, &rcv)) rcv = now;
      uint8_t* r = out[n];
      memset(r, 0, REPLY);
      r[0] = (uint8_t)(vn << 3 | 4); /* LI 0, VN echoed, mode 4 */
      r[1] = 1;                      /* stratum */
      r[2] = q[2];                   /* poll echoed */
      r[3] = (uint8_t)-20;           /* precision, log2 s */
      memcpy(r + 12, "MINR", 4);
      put_timestamp(r + 16, &rcv);   /* reference */
      memcpy(r + 24, q + 40, 8);     /* origin = the request's transmit, byte for byte */
      put_timestamp(r + 32, &rcv);   /* receive */
      put_timestamp(r + 40, &now);   /* transmit */
      tx_iov[n].iov_base = r;
      tx_iov[n].iov_len = REPLY;
      memset(&tx[n].msg_hdr, 0, sizeof tx[n].msg_hdr);
      tx[n].msg_hdr.msg_name = &from[i];
      tx[n].msg_hdr.msg_namelen = rx[i].msg_hdr.msg_namelen;
      tx[n].msg_hdr.msg_iov = &tx_iov[n];
      tx[n].msg_hdr.msg_iovlen = 1;
      ++n;
    }
    for (unsigned done = 0; done < n;) {
      const int sent = sendmmsg(fd, tx + done, n - done, 0);
      if (sent > 0) {
        done += (unsigned)sent;
        answered += (unsigned)sent;
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else {
        ++send_errors; /* a reply that cannot be sent is dropped */
        ++done;
      }
    }
  }
  printf("received %llu, answered %llu, send errors %llu\n", received, answered, send_errors);
  close(fd);
  return 0;
}
