/*
 * feeds_int.h: inside src/feeds only: the per-feed state table.
 *
 * The state maps each indicator id a feed has produced to the digest of
 * its content and the times of its first and latest version; see
 * feeds_state.c for the file it lives in and why.
 */
#ifndef RK_FEEDS_INT_H
#define RK_FEEDS_INT_H

#include "feeds.h"

#define FEEDS_DIGEST_HEX 65 /* SHA-256 in hex, NUL included */

typedef struct feeds_entry {
	char *id;                       /* NULL: empty slot */
	char digest[FEEDS_DIGEST_HEX];
	rk_time created, modified;
	bool stored;                    /* read from the state file */
	bool seen;                      /* met in this import */
} feeds_entry;

typedef struct feeds_state {
	feeds_entry *slots;
	size_t cap, n;
	char *path; /* the state file, NULL without a state directory */
	/* A remote TAXII source's checkpoint (feeds_taxii.c): the
	 * X-TAXII-Date-Added-Last of what was imported from it, and which
	 * source ("<url> <root> <collection>") it belongs to; NULL and ""
	 * when the feed has none. */
	char *source;
	char checkpoint[RK_TIME_BUF];
} feeds_state;

/* feeds_import.c */
bool feeds_import_all_attributes(const feeds_import *imp);
/* The import's state, for a parser that keeps a checkpoint in it. */
feeds_state *feeds_import_state(feeds_import *imp);
/* The source hands over only what changed since its checkpoint: ids it
 * did not hand over are not counted as gone. */
void feeds_import_set_incremental(feeds_import *imp);

/* feeds_state.c */
/* Appends to path the file of feed `name` under dir with `suffix`
 * ("state", "status"): DIR/<name cleaned>-<8 hex>.<suffix>, making dir
 * when missing. RK_EIO, RK_ENOMEM. */
rk_err feeds_state_file(const char *dir, const char *name, const char *suffix, rk_buf *path,
			rk_errctx *ctx);
/* Opens the state of feed `name` under dir (NULL: in memory only). */
rk_err feeds_state_open(feeds_state *st, const char *dir, const char *name, rk_errctx *ctx);
void feeds_state_cleanup(feeds_state *st);
feeds_entry *feeds_state_find(feeds_state *st, const char *id);
/* A new entry for id (not present); NULL on out-of-memory. */
feeds_entry *feeds_state_add(feeds_state *st, const char *id);
/* The checkpoint kept for `source`, "" when there is none or it is
 * another source's. */
const char *feeds_state_checkpoint(const feeds_state *st, const char *source);
/* Replaces the checkpoint (written by the next save). RK_ENOMEM. */
rk_err feeds_state_set_checkpoint(feeds_state *st, const char *source, const char *checkpoint);
/* Writes the state file atomically (temporary file, fsync, rename). */
rk_err feeds_state_save(const feeds_state *st, rk_errctx *ctx);

#endif
