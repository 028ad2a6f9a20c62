/*
 * bench_assets.c: the asset registry's lookups, which the notification
 * engine runs for every observable of every stored object.
 *
 * Builds a snapshot of N approved claims (default 100,000: IPv4 blocks of
 * every length from /16 to /32, IPv6 /48s, domains and AS numbers, over
 * 1,000 organisations), then times 1,000,000 address lookups (half inside
 * claimed blocks), 1,000,000 domain lookups (names three labels below a
 * claimed domain or not) and 1,000,000 AS lookups. Prints the CPU time
 * per lookup (clock(): the machine is shared, so wall time would measure
 * the neighbours) and the build time. One thread.
 *
 *   build/bench/bench_assets [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assets.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double cpu(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100000;
	asset_claim *c = calloc(n, sizeof *c);
	char text[300];
	size_t made = 0;
	if (!c)
		return 1;
	for (size_t i = 0; i < n; i++) {
		asset_claim *x = &c[made];
		x->id = (int64_t)i + 1;
		x->state = ASSET_APPROVED;
		snprintf(x->org, sizeof x->org, "org%zu", i % 1000);
		uint64_t r = next();
		switch (i % 4) {
		case 0: {
			unsigned p = 16 + (unsigned)(r % 17);
			uint32_t a = (uint32_t)(10u << 24 | (r >> 8 & 0xffffff));
			a &= p == 32 ? 0xffffffffu : ~(0xffffffffu >> p);
			snprintf(text, sizeof text, "%u.%u.%u.%u/%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
				 a & 255, p);
			break;
		}
		case 1:
			snprintf(text, sizeof text, "2001:db8:%x::/48", (unsigned)(r & 0xffff));
			break;
		case 2:
			snprintf(text, sizeof text, "d%llu.example", (unsigned long long)(r % 1000000));
			break;
		default:
			snprintf(text, sizeof text, "AS%llu", (unsigned long long)(64512 + r % 1000000));
		}
		if (assets_value_parse(text, strlen(text), &x->value, NULL) == RK_OK)
			made++;
	}
	double t0 = cpu();
	assets_snapshot *s = NULL;
	if (assets_snapshot_build(c, made, 1u << ASSET_APPROVED, 1, &s, NULL) != RK_OK)
		return 1;
	double t_build = cpu() - t0;
	assets_hit h[16];
	size_t hits = 0;
	const size_t L = 1000000;
	t0 = cpu();
	for (size_t i = 0; i < L; i++) {
		uint64_t r = next();
		uint8_t a[4] = {(uint8_t)(i & 1 ? 10 : 11), (uint8_t)(r >> 8), (uint8_t)(r >> 16),
				(uint8_t)(r >> 24)};
		hits += assets_orgs_for_address(s, a, 4, h, 16) > 0;
	}
	double t_addr = cpu() - t0;
	t0 = cpu();
	for (size_t i = 0; i < L; i++) {
		int len = snprintf(text, sizeof text, "a.b.d%llu.example",
				   (unsigned long long)(next() % 2000000));
		hits += assets_orgs_for_domain(s, text, (size_t)len, h, 16) > 0;
	}
	double t_dom = cpu() - t0;
	t0 = cpu();
	for (size_t i = 0; i < L; i++)
		hits += assets_orgs_for_asn(s, (uint32_t)(64512 + next() % 2000000), h, 16) > 0;
	double t_asn = cpu() - t0;
	printf("assets: %zu claims, snapshot built in %.3f s CPU\n", made, t_build);
	printf("assets: address lookup %.0f ns, domain lookup %.0f ns (3 parents), AS lookup %.0f ns "
	       "(CPU per lookup, %zu hits of %zu)\n",
	       t_addr / (double)L * 1e9, t_dom / (double)L * 1e9, t_asn / (double)L * 1e9, hits,
	       3 * L);
	assets_snapshot_free(s);
	free(c);
	return 0;
}
