/*
 * decode_pcap.c: capture files, record by record (decode_pcap_open/next)
 * and decoded whole (decode_pcap_file).
 *
 * Two readers, one result. The common file (classic pcap written in this
 * host's byte order, version 2.4, a link type decode_packet knows, every
 * record within the snapshot length) is read here: read(2) in chunks of
 * PCAP_CHUNK into one buffer allocated when the file is opened, each record
 * handed out where it lies, which saves libpcap's two buffered reads and
 * one copy per record. Anything else (pcapng, byte-swapped or old files,
 * other link types, a record longer than the snapshot length, a file cut
 * inside a record, a read error, standard input "-") goes through libpcap:
 * pcap_open_offline reads pcap and pcapng; for pcapng the link type is the
 * first interface's, as libpcap reports it. When the fast reader meets
 * such a thing in the middle of a file it stops before that record and
 * libpcap takes over from there (the records already handed out are
 * stepped over), so a file gives the same records, link type, times and
 * errors whichever reader ends up with it.
 *
 * State: FAST (fd and buffer; buf[start, end) is read ahead, a record
 * handed out stays valid until the next call) -> LIBPCAP (pc, after
 * skipping `done` records) -> DONE. Nothing is allocated per record
 * (libpcap reuses its buffer too).
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
#define PCAP_BUF (PCAP_CHUNK + PCAP_MAX_SNAP + 16)
#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du

enum { RD_FAST, RD_LIBPCAP, RD_DONE };

struct decode_pcap {
	int state;
	int link;
	char *path;
	uint64_t done; /* records handed out */
	/* RD_FAST */
	int fd, nsec, eof, err;
	uint32_t snap;
	uint8_t *buf;
	size_t start, end, consumed;
	/* RD_LIBPCAP */
	pcap_t *pc;
};

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

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Makes at least need bytes available at buf + start; 0 when the file
 * ends (or fails) first. */
static int fill(decode_pcap *r, size_t need)
{
	while (r->end - r->start < need) {
		if (r->eof || r->err)
			return 0;
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		ssize_t n = read(r->fd, r->buf + r->end, PCAP_BUF - r->end);
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

static void fast_close(decode_pcap *r)
{
	free(r->buf);
	r->buf = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* Sets up the fast reader when the file is one it reads; 0 if not. */
static int fast_open(decode_pcap *r)
{
	if (strcmp(r->path, "-") == 0)
		return 0;
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return 0;
	r->buf = malloc(PCAP_BUF);
	if (!r->buf || !fill(r, 24))
		goto no;
	{
		const uint8_t *h = r->buf;
		uint32_t magic = rd32(h);
		uint16_t major, minor;
		memcpy(&major, h + 4, 2);
		memcpy(&minor, h + 6, 2);
		if ((magic != PCAP_MAGIC_USEC && magic != PCAP_MAGIC_NSEC) ||
		    major != 2 || minor != 4 || (r->link = fast_link(rd32(h + 20))) < 0)
			goto no;
		r->nsec = magic == PCAP_MAGIC_NSEC;
		r->snap = rd32(h + 16);
		if (r->snap == 0 || r->snap > PCAP_MAX_SNAP)
			r->snap = PCAP_MAX_SNAP; /* as libpcap reads it */
		r->start = 24;
	}
	return 1;
no:
	fast_close(r);
	return 0;
}

/* Opens the file with libpcap and steps over the records handed out. */
static rk_err to_libpcap(decode_pcap *r, rk_errctx *ctx)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;

	fast_close(r);
	errbuf[0] = 0;
	r->pc = pcap_open_offline(r->path, errbuf);
	if (!r->pc) {
		r->state = RD_DONE;
		return rk_fail(ctx, RK_EIO, r->path, "cannot open capture: %s", errbuf);
	}
	r->link = pcap_datalink(r->pc);
	r->state = RD_LIBPCAP;
	for (uint64_t i = 0; i < r->done; i++) {
		int rc = pcap_next_ex(r->pc, &h, &data);
		if (rc == PCAP_ERROR) {
			r->state = RD_DONE;
			return rk_fail(ctx, RK_EIO, r->path, "reading capture: %s",
				       pcap_geterr(r->pc));
		}
		if (rc != 1) {
			r->state = RD_DONE; /* the file shrank under us */
			break;
		}
	}
	return RK_OK;
}

decode_pcap *decode_pcap_open(const char *path, rk_errctx *ctx)
{
	decode_pcap *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path))) {
		free(r);
		rk_fail(ctx, RK_ENOMEM, path, "out of memory");
		return NULL;
	}
	r->fd = -1;
	if (fast_open(r)) {
		r->state = RD_FAST;
		return r;
	}
	if (to_libpcap(r, ctx) != RK_OK) {
		decode_pcap_close(r);
		return NULL;
	}
	return r;
}

int decode_pcap_link(const decode_pcap *r)
{
	return r->link;
}

int decode_pcap_next(decode_pcap *r, const uint8_t **data, size_t *caplen,
		     int64_t *ts_usec, rk_errctx *ctx)
{
	if (r->state == RD_FAST) {
		r->start += r->consumed; /* the record handed out last */
		r->consumed = 0;
		if (fill(r, 16)) {
			const uint8_t *h = r->buf + r->start;
			int32_t sec = (int32_t)rd32(h), frac = (int32_t)rd32(h + 4);
			uint32_t cl = rd32(h + 8);
			if (cl <= r->snap && fill(r, 16 + (size_t)cl)) {
				h = r->buf + r->start;
				*data = h + 16;
				*caplen = cl;
				*ts_usec = (int64_t)sec * 1000000 +
					   (r->nsec ? frac / 1000 : frac);
				r->consumed = 16 + (size_t)cl;
				r->done++;
				return 1;
			}
		} else if (r->end == r->start && r->eof && !r->err) {
			fast_close(r);
			r->state = RD_DONE; /* a clean end */
			return 0;
		}
		/* anything else is libpcap's to judge, from this record on */
		if (to_libpcap(r, ctx) != RK_OK)
			return -1;
	}
	if (r->state == RD_LIBPCAP) {
		struct pcap_pkthdr *h;
		const u_char *d;
		int rc = pcap_next_ex(r->pc, &h, &d);
		if (rc == 1) {
			*data = d;
			*caplen = h->caplen;
			*ts_usec = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
			r->done++;
			return 1;
		}
		r->state = RD_DONE;
		if (rc == PCAP_ERROR) {
			rk_fail(ctx, RK_EIO, r->path, "reading capture: %s",
				pcap_geterr(r->pc));
			return -1;
		}
	}
	return 0;
}

void decode_pcap_close(decode_pcap *r)
{
	if (!r)
		return;
	fast_close(r);
	if (r->pc)
		pcap_close(r->pc);
	free(r->path);
	free(r);
}

rk_err decode_pcap_file(decode_ctx *d, const char *path, rk_errctx *ctx)
{
	decode_pcap *r = decode_pcap_open(path, ctx);
	const uint8_t *data;
	size_t caplen;
	int64_t ts;
	int rc;

	if (!r)
		return RK_EIO;
	while ((rc = decode_pcap_next(r, &data, &caplen, &ts, ctx)) == 1)
		decode_packet(d, decode_pcap_link(r), data, caplen, ts);
	decode_pcap_close(r);
	return rc < 0 ? RK_EIO : RK_OK;
}
