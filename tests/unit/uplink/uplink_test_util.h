/*
 * uplink_test_util.h: what the uplink's test programs share: each runs in
 * a fresh directory under /tmp (the spool lives there) removed at the end.
 * Everything is static inline so each program takes only what it uses.
 */
#ifndef RK_UPLINK_TEST_UTIL_H
#define RK_UPLINK_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Makes /tmp/<prefix>-XXXXXX into dir (n >= 64): 0, or -1 on error. */
static inline int uplink_test_mkdir(char *dir, size_t n, const char *prefix)
{
	snprintf(dir, n, "/tmp/%s-XXXXXX", prefix);
	return mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and all below it; system()'s result. */
static inline int uplink_test_rmdir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd);
}

#endif
