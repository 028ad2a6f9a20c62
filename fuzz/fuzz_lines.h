/*
 * fuzz_lines.h: what the log parser harnesses share: feeding fuzzed bytes
 * to a logs reader line by line or through its buffered file reader, and an
 * observable callback that checks the logs module's promises.
 *
 * Two ways in, both public (logs.h): fuzz_lines_feed() cuts the input at
 * newlines and hands each line to logs_feed_line() in a heap block of
 * exactly its length, so a read past the line is an AddressSanitizer
 * report; fuzz_lines_fd() writes the input to a temporary file and reads it
 * with logs_read_fd(), which exercises the reader's own buffering (lines
 * longer than max_line, a last line without a newline, CRLF).
 *
 * Invariants checked on every observable (a breach aborts): kind and field
 * are known ones; the value lies inside the line it came from (for the file
 * path, whose buffer is the reader's own, AddressSanitizer checks the bounds
 * alone) and is read whole; the line number is
 * one the reader has counted; and a value that the classifier decided is
 * classified the same again (URLs taken whole from an HTTP URI column and
 * User-Agents are not classified, so they are exempt; a certificate
 * fingerprint must be 40 or 64 hex digits, colons allowed between bytes). The closing check
 * compares the count of observables with the reader's statistics.
 */
#ifndef RK_FUZZ_LINES_H
#define RK_FUZZ_LINES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logs.h"

/* A certificate fingerprint as the readers take it: 40 (SHA-1) or 64
 * (SHA-256) hex digits, plain or as bytes joined by colons. */
static inline int fuzz_lines_cert(const logs_obs *o)
{
	size_t digits = 0;
	int colons = o->len > 2 && o->val[2] == ':';
	for (size_t i = 0; i < o->len; i++) {
		char c = o->val[i];
		if (colons && i % 3 == 2) {
			if (c != ':')
				return 0;
		} else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F')) {
			digits++;
		} else {
			return 0;
		}
	}
	return digits == (o->kind == LOGS_KIND_X509_SHA1 ? 40u : 64u) &&
	       (!colons || o->len == digits / 2 * 3 - 1);
}

typedef struct fuzz_lines {
	const char *lo, *hi; /* where values may lie; NULL: not checked here */
	const logs_reader *r;
	uint64_t seen;
	size_t sum;
} fuzz_lines;

static inline int fuzz_lines_check(const logs_obs *o, void *arg)
{
	fuzz_lines *s = arg;

	if ((unsigned)o->kind >= LOGS_KIND_COUNT ||
	    (unsigned)o->field >= LOGS_FIELD_COUNT)
		abort();
	if (!o->val || (s->lo && (o->val < s->lo || o->len > (size_t)(s->hi - o->val))))
		abort();
	for (size_t i = 0; i < o->len; i++)
		s->sum += (unsigned char)o->val[i];
	if (o->line == 0 || o->line > s->r->stats.lines)
		abort();
	if (o->kind == LOGS_KIND_X509_SHA1 || o->kind == LOGS_KIND_X509_SHA256) {
		if (!fuzz_lines_cert(o))
			abort();
	} else if (o->kind != LOGS_KIND_UA &&
		   !(o->kind == LOGS_KIND_URL && o->field == LOGS_FIELD_HTTP_URI) &&
		   logs_classify(o->val, o->len) != (int)o->kind) {
		abort();
	}
	s->seen++;
	return 0;
}

static inline void fuzz_lines_done(const fuzz_lines *s, const logs_reader *r)
{
	if (r->stats.observables != s->seen)
		abort();
}

/* One line, copied into a block of exactly its length. */
static inline void fuzz_lines_one(logs_reader *r, fuzz_lines *s,
				  const uint8_t *p, size_t len)
{
	char *line = malloc(len ? len : 1);
	if (!line)
		return;
	if (len)
		memcpy(line, p, len);
	s->lo = line;
	s->hi = line + len;
	logs_feed_line(r, line, len);
	free(line);
}

/* Every newline-terminated piece of data, and the rest, as lines. */
static inline void fuzz_lines_feed(logs_reader *r, fuzz_lines *s,
				   const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		const uint8_t *e = nl ? nl : end;
		fuzz_lines_one(r, s, p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
}

/* The data as a file read by logs_read_fd. One temporary file per
 * process, rewritten for each input. */
static inline void fuzz_lines_fd(logs_reader *r, fuzz_lines *s,
				 const uint8_t *data, size_t size)
{
	static FILE *tmp;
	int fd;

	if (!tmp && !(tmp = tmpfile()))
		return;
	fd = fileno(tmp);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		return;
	s->lo = s->hi = NULL; /* the reader's buffer: its bounds are ASan's */
	logs_read_fd(r, fd, "fuzz.log");
}

#endif
