/*
 * decode_pcap.c: decoding a capture file.
 *
 * Two readers, one result. The common file (classic pcap written in this
 * host's byte order, version 2.4, a link type decode_packet knows, every
 * record within the snapshot length) is read here: read(2) in chunks of
 * PCAP_CHUNK into one buffer allocated per file, each record handed to
 * decode_packet where it lies, which saves libpcap's two buffered reads
 * and one copy per record. Anything else (pcapng, byte-swapped or old
 * files, other link types, a record longer than the snapshot length, a
 * file cut inside a record, a read error, standard input "-") goes through
 * libpcap: pcap_open_offline reads pcap and pcapng; for pcapng the link
 * type is the first interface's, as libpcap reports it. When the fast
 * reader meets such a thing in the middle of a file it stops before that
 * record and libpcap takes over from there (the records already decoded
 * are stepped over, not decoded again), so a file gives the same packets,
 * counts and errors whichever reader ends up with it.
 *
 * A bad packet is counted in the context's statistics and the walk goes
 * on; only a file that cannot be opened or read is an error. Nothing is
 * allocated per packet (libpcap reuses its buffer between records).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "decode_int.h"

#define PCAP_CHUNK (1u << 20)
#define PCAP_MAX_SNAP 262144u /* libpcap's bound for the link types below */
#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du

/* The file's LINKTYPE_ as the DLT_ libpcap would report; -1: not here. */
static int fast_link(uint32_t lt)
{
	switch (lt) {
	case 0: case 1: case 104: case 108: case 113: case 228: case 229:
	case 276:
		return (int)lt;
	case 101:
		return DECODE_LINK_RAW; /* LINKTYPE_RAW is DLT_RAW */
	default:
		return -1;
	}
}

typedef struct rd {
	int fd;
	uint8_t *buf;
	size_t start, end;
	int eof, err;
} rd;

/* Makes at least need bytes available at buf + start; 0 when the file
 * ends (or fails) first. */
static int fill(rd *r, size_t need)
{
	while (r->end - r->start < need) {
		if (r->eof || r->err)
			return 0;
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		ssize_t n = read(r->fd, r->buf + r->end,
				 PCAP_CHUNK + PCAP_MAX_SNAP + 16 - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r->err = 1;
			return 0;
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
	return 1;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Reads what it can; *done is the number of records decoded. 1 when the
 * whole file was read, 0 when libpcap must go on from record *done. */
static int fast_read(decode_ctx *d, const char *path, uint64_t *done)
{
	rd r = {-1, NULL, 0, 0, 0, 0};
	int whole = 0, link, nsec;
	uint32_t snap;

	*done = 0;
	if (strcmp(path, "-") == 0)
		return 0;
	r.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0)
		return 0;
	r.buf = malloc(PCAP_CHUNK + PCAP_MAX_SNAP + 16);
	if (!r.buf || !fill(&r, 24))
		goto out;
	{
		const uint8_t *h = r.buf;
		uint32_t magic = rd32(h);
		uint16_t major, minor;
		memcpy(&major, h + 4, 2);
		memcpy(&minor, h + 6, 2);
		if ((magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC) ||
		    major != 2 || minor != 4 || (link = fast_link(rd32(h + 20))) < 0)
			goto out;
		nsec = magic == PCAP_MAGIC_NSEC;
		snap = rd32(h + 16);
		if (snap == 0 || snap > PCAP_MAX_SNAP)
			snap = PCAP_MAX_SNAP; /* as libpcap reads it */
		r.start = 24;
	}
	for (;;) {
		if (!fill(&r, 16)) {
			/* a clean end, or a cut header libpcap will report */
			whole = r.end == r.start && r.eof && !r.err;
			goto out;
		}
		const uint8_t *h = r.buf + r.start;
		int32_t sec = (int32_t)rd32(h), frac = (int32_t)rd32(h + 4);
		uint32_t caplen = rd32(h + 8);
		if (caplen > snap || !fill(&r, 16 + (size_t)caplen))
			goto out;
		h = r.buf + r.start;
		decode_packet(d, link, h + 16, caplen,
			      (int64_t)sec * 1000000 + (nsec ? frac / 1000 : frac));
		r.start += 16 + (size_t)caplen;
		(*done)++;
	}
out:
	free(r.buf);
	if (r.fd >= 0)
		close(r.fd);
	return whole;
}

rk_err decode_pcap_file(decode_ctx *d, const char *path, rk_errctx *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int link, rc;
	uint64_t done;
	rk_err err = RK_OK;

	if (fast_read(d, path, &done))
		return RK_OK;
	errbuf[0] = 0;
	pc = pcap_open_offline(path, errbuf);
	if (!pc)
		return rk_fail(ctx, RK_EIO, path, "cannot open capture: %s",
			       errbuf);
	link = pcap_datalink(pc);
	/* the records the fast reader decoded already */
	for (rc = 1; done > 0 && (rc = pcap_next_ex(pc, &h, &data)) == 1; done--)
		;
	if (rc == 1)
		while ((rc = pcap_next_ex(pc, &h, &data)) == 1)
			decode_packet(d, link, data, h->caplen,
				      (int64_t)h->ts.tv_sec * 1000000 +
					      h->ts.tv_usec);
	if (rc == PCAP_ERROR)
		err = rk_fail(ctx, RK_EIO, path, "reading capture: %s",
			      pcap_geterr(pc));
	pcap_close(pc);
	return err;
}
