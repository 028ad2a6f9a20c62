/*
 * pattern_int.h: the compiled pattern tree, shared by the parser
 * (pattern_parse.c) and the evaluator (pattern_eval.c) only.
 *
 * A pattern is two trees. Observation nodes (pat_obs_node) are binary:
 * AND, OR, FOLLOWEDBY, or a qualifier over one child, or a leaf holding one
 * [...] comparison tree. Comparison nodes (pat_cmp) are n-ary AND/OR (children
 * in a `next` list, evaluated by a loop, so a long chain costs no stack) or a
 * test of one object path against one constant. The parser also records
 * what lets evaluation take a shorter road to the same answer: names in
 * pat_name form, the kind of test (eq_str, num_const), a leaf's one type,
 * a literal-shaped MATCHES (relit), and the plans pattern.chain / rep.
 *
 * Invariants: every node and string is owned by the pattern and freed with
 * it; after pattern_compile returns nothing in the tree changes (PCRE2's
 * match scratch space is per thread, in pattern_eval.c). Constants carry every representation evaluation may
 * need, decoded once: a string constant that reads as an IP address or CIDR
 * block has `net` set; binaries keep their bytes plus canonical base64
 * (no padding) and lowercase hex for comparison with JSON strings.
 */
#ifndef RK_PATTERN_INT_H
#define RK_PATTERN_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

#include "pattern.h"

/* An IPv4 or IPv6 address or CIDR block; v4 lives in the first 4 bytes. */
typedef struct pat_net {
	int family; /* 4 or 6; 0 = not an address */
	unsigned prefix;
	unsigned char addr[16];
} pat_net;

bool pattern_net_parse(const char *s, size_t len, pat_net *out);
/* True if a lies inside b (a's prefix at least b's, same bits up to b's). */
bool pattern_net_within(const pat_net *a, const pat_net *b);
/* Standard base64 (padding optional) into out, which holds n / 4 * 3 + 3
 * bytes; false on a character outside the alphabet. */
bool pattern_b64_decode(const char *s, size_t n, unsigned char *out, size_t *outlen);

/* A key, type or string as evaluation compares it for equality: its length
 * and its first PAT_NAME_WORDS * 8 bytes as words (zero past the end), so
 * that the names of STIX properties and types (nearly all that short) and
 * short values compare with a few integer compares and no call; the bytes
 * past them, if any, with memcmp. A path step's key, a string constant and
 * the keys and strings of a loaded observed-data (pattern_eval.c) carry the
 * same form. */
#define PAT_NAME_WORDS 3

typedef struct pat_name {
	size_t n;
	uint64_t w[PAT_NAME_WORDS];
	const char *s; /* the n bytes, owned elsewhere */
} pat_name;

static inline void pattern_name_init(pat_name *k, const char *s, size_t n)
{
	size_t head = n < sizeof k->w ? n : sizeof k->w;

	memset(k->w, 0, sizeof k->w);
	memcpy(k->w, s, head);
	k->n = n;
	k->s = s;
}

static inline bool pattern_name_eq(const pat_name *a, const pat_name *b)
{
	return a->n == b->n && a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2] &&
	       (a->n <= sizeof a->w ||
		memcmp(a->s + sizeof a->w, b->s + sizeof a->w, a->n - sizeof a->w) == 0);
}

typedef enum {
	PAT_C_STR,
	PAT_C_INT,
	PAT_C_FLOAT,
	PAT_C_BOOL,
	PAT_C_BIN,
	PAT_C_TIME,
} pat_ckind;

typedef struct pat_const {
	pat_ckind kind;
	char *s;        /* STR: the unescaped text; BIN: the bytes */
	size_t len;
	pat_name str;   /* STR: s and len as a name, for the comparison of equal strings */
	char *b64;      /* BIN: canonical base64 without '=' padding */
	char *hex;      /* BIN: lowercase hex */
	int64_t i;
	double d;       /* INT and FLOAT both set d */
	bool b;
	rk_time t;
	pat_net net;    /* STR that reads as an address or CIDR block */
} pat_const;

typedef enum { PAT_STEP_KEY, PAT_STEP_INDEX, PAT_STEP_ANY } pat_step_kind;

typedef struct pat_step {
	pat_step_kind kind;
	char *key;
	pat_name name; /* KEY: key as a C string (an escaped NUL ends it) */
	long index; /* negative counts from the end */
} pat_step;

typedef struct pat_path {
	char *type;
	pat_name type_name;
	pat_step *steps;
	size_t nsteps;
	bool ends_hex; /* last key ends in "_hex": binaries compare as hex */
	bool ends_bin; /* last key ends in "_bin": MATCHES and string constants work on the bytes */
	bool ip_value; /* type ipv4-addr/ipv6-addr and last key "value" */
	bool keys_only; /* every step a key: the path reaches at most one value */
} pat_path;

typedef enum {
	PAT_OP_EQ,
	PAT_OP_NE,
	PAT_OP_LT,
	PAT_OP_GT,
	PAT_OP_LE,
	PAT_OP_GE,
	PAT_OP_IN,
	PAT_OP_LIKE,
	PAT_OP_MATCHES,
	PAT_OP_ISSUBSET,
	PAT_OP_ISSUPERSET,
	PAT_OP_EXISTS,
} pat_op;

/* A MATCHES expression simple enough to run without PCRE2: `^`? A
 * (`.+` | `.*`) B `$`? with A and B runs of literal characters and `.`
 * (pattern_regex.c, which says when the answer is PCRE2's). */
typedef struct pat_relit_seg {
	uint32_t off, len; /* literal bytes at off; len 0: a `.` */
} pat_relit_seg;

typedef struct pat_relit {
	bool anchor_start, anchor_end;
	int gap;                  /* 0 none, 1 `.*`, 2 `.+` */
	const char *bytes;        /* the literals' bytes */
	const pat_relit_seg *a, *b; /* A and B as segments */
	size_t na, nb;
} pat_relit;

/* pattern_regex.c */
/* Reads the n bytes of the expression re (which PCRE2 compiled) into *out,
 * with `bytes` and `segs` (room for n each) for its literals; false if it
 * is not of that shape. */
bool pattern_relit_compile(const char *re, size_t n, char *bytes, pat_relit_seg *segs,
			   pat_relit *out);
/* 1 if the valid UTF-8 subject matches, 0 if not, -1 if PCRE2 must say
 * (a subject past the length this answers for). */
int pattern_relit_match(const pat_relit *r, const char *subject, size_t n);

typedef enum { PAT_CMP_AND, PAT_CMP_OR, PAT_CMP_TEST } pat_cmp_kind;

typedef struct pat_cmp {
	pat_cmp_kind kind;
	struct pat_cmp *first; /* AND/OR: children */
	struct pat_cmp *next;  /* sibling in the parent's list */
	/* TEST */
	pat_op op;
	bool negated;
	pat_path path;
	pat_const *vals; /* one, or the IN list */
	size_t nvals;
	bool eq_str; /* `=` a string constant, not negated, not on a binary path */
	bool num_const; /* =, !=, <, >, <=, >= a number */
	pcre2_code *re;       /* MATCHES on text (UTF) */
	bool re_jit;          /* re is JIT-compiled: pcre2_jit_match may run it */
	pat_relit *relit;     /* MATCHES on text without PCRE2, or NULL */
	pcre2_code *re_bytes; /* MATCHES on decoded binaries */
	bool re_bytes_jit;
} pat_cmp;

typedef enum {
	PAT_OBS_LEAF,
	PAT_OBS_AND,
	PAT_OBS_OR,
	PAT_OBS_FOLLOWEDBY,
	PAT_OBS_WITHIN,
	PAT_OBS_REPEATS,
	PAT_OBS_STARTSTOP,
} pat_obs_kind;

typedef struct pat_obs_node {
	pat_obs_kind kind;
	struct pat_obs_node *left, *right; /* qualifiers: left only */
	pat_cmp *cmp;                      /* LEAF */
	const pat_name *one_type;          /* LEAF: the type all its tests name, or NULL */
	uint32_t atom;                     /* LEAF: its number, 0-based in text order */
	int64_t within_us;                 /* WITHIN, in microseconds */
	uint32_t repeats;                  /* REPEATS */
	rk_time start, stop;               /* STARTSTOP */
} pat_obs_node;

struct pattern {
	pat_obs_node *root;
	size_t nobs, ncmp;
	/* When the root is a left-deep chain of leaves joined by AND and
	 * FOLLOWEDBY (`[a] AND [b] FOLLOWEDBY [c] WITHIN 5 SECONDS`), each leaf
	 * maybe under one WITHIN or START/STOP, the chain maybe under one:
	 * its leaves in order, their qualifiers (chain_qual[k] or NULL) and
	 * the chain's (chain_top, or NULL). pattern_eval.c then searches the
	 * chain in one loop. */
	const pat_obs_node **chain;
	const pat_obs_node **chain_qual;
	bool *chain_fby; /* [k], k >= 1: leaf k joins by FOLLOWEDBY, not AND */
	size_t nchain;
	const pat_obs_node *chain_top;
	/* When the root is REPEATS over a leaf, maybe under one WITHIN or
	 * START/STOP (chain_top then): that REPEATS node, searched in one
	 * loop too. */
	const pat_obs_node *rep;
	/* Every allocation of the tree, freed together. */
	void **allocs;
	size_t nallocs, capallocs;
	/* Every MATCHES test, whose PCRE2 objects are freed with the pattern. */
	pat_cmp **regex;
	size_t nregex, capregex;
};

/* The path names v's property: same type, each step v's key or [*]. */
bool pattern_path_is(const pat_path *path, const pattern_prop *v);

#endif
