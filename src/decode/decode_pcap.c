/*
 * decode_pcap.c: decoding a capture file through libpcap.
 *
 * pcap_open_offline reads pcap and pcapng; each record goes through
 * decode_packet with the file's link type (for pcapng, the link type of
 * the first interface, as libpcap reports it). A bad packet is counted in
 * the context's statistics and the walk goes on; only a file that cannot
 * be opened or read is an error. libpcap's own buffers are reused between
 * records, so this adds no allocation per packet.
 */
#include <pcap/pcap.h>

#include "decode_int.h"

rk_err decode_pcap_file(decode_ctx *d, const char *path, rk_errctx *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int link, rc;
	rk_err err = RK_OK;

	errbuf[0] = 0;
	pc = pcap_open_offline(path, errbuf);
	if (!pc)
		return rk_fail(ctx, RK_EIO, path, "cannot open capture: %s",
			       errbuf);
	link = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
		decode_packet(d, link, data, h->caplen,
			      (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec);
	if (rc == PCAP_ERROR)
		err = rk_fail(ctx, RK_EIO, path, "reading capture: %s",
			      pcap_geterr(pc));
	pcap_close(pc);
	return err;
}
