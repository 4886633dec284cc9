/* The floor for `ntp-probe replay`: libpcap reading every record of a capture and nothing else.
 * Opens the file the way ntp-probe does (nanosecond timestamps), loops on pcap_next_ex, and
 * counts packets and captured bytes. Usage: pcap_floor FILE; prints "packets N bytes M". */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pcap_floor FILE\n");
    return 2;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == NULL) {
    fprintf(stderr, "pcap_floor: %s\n", errbuf);
    return 3;
  }
  struct pcap_pkthdr* h = NULL;
  const u_char* data = NULL;
  uint64_t packets = 0, bytes = 0;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    ++packets;
    bytes += h->caplen;
  }
  if (rc != PCAP_ERROR_BREAK) {
    fprintf(stderr, "pcap_floor: after %llu packets: %s\n", (unsigned long long)packets, pcap_geterr(p));
    pcap_close(p);
    return 3;
  }
  pcap_close(p);
  printf("packets %llu bytes %llu\n", (unsigned long long)packets, (unsigned long long)bytes);
  return 0;
}
