/*
 * anon_int.h: what the files of the anonymise module share: the parsed
 * rules. Stays inside src/anonymise/ (and its tests).
 */
#ifndef RK_ANON_INT_H
#define RK_ANON_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "anonymise.h"

/* One "pattern" line. */
typedef struct anon_pattern {
	char *name;
	char *replacement; /* "[redacted:NAME]" */
	anon_action action;
	pcre2_code *re;
	unsigned line;
} anon_pattern;

/* One "owned" line. */
typedef struct anon_owned {
	char *org;
	int kind; /* 0 range, 1 domain, 2 asn */
	char *value;
} anon_owned;

struct anon_rules {
	anon_pattern *patterns;
	size_t n_patterns;
	anon_owned *owned;
	size_t n_owned;
};

#endif
