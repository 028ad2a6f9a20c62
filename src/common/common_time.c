/*
 * common_time.c: RFC 3339 UTC timestamps as STIX 2.1 (section 3.2) and
 * TAXII 2.1 use them, held as microseconds since the Unix epoch.
 *
 * Only the profile STIX allows is accepted: "YYYY-MM-DDTHH:MM:SS", an
 * optional fraction of one or more digits, and a literal 'Z'. Calendar
 * arithmetic is done by hand (rk_days_from_civil) rather than with timegm(3)
 * so that parsing is exact, locale-free and rejects impossible dates such as
 * 2023-02-29 instead of normalising them.
 */
#include <string.h>
#include <time.h>

#include "common.h"

int64_t rk_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

static bool digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return len[m - 1];
}

/* digits_required < 0: any number of fraction digits (including none). */
static bool parse(const char *s, int digits_required, rk_time *out)
{
	unsigned y, mo, d, h, mi, sec;

	if (!s || strlen(s) < 20)
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return false;
	const char *p = s + 19;
	int64_t frac_us = 0;
	int nfrac = 0;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (nfrac < 6)
				frac_us = frac_us * 10 + (*p - '0');
			nfrac++;
			p++;
		}
		if (nfrac == 0)
			return false;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return false;
	if (digits_required >= 0 && nfrac != digits_required)
		return false;
	for (int i = nfrac; i < 6; i++)
		frac_us *= 10;
	int64_t days = rk_days_from_civil(y, mo, d);
	int64_t secs = days * 86400 + (int64_t)h * 3600 + mi * 60 + sec;
	*out = secs * 1000000 + frac_us;
	return true;
}

bool rk_time_parse(const char *s, rk_time *out)
{
	return parse(s, -1, out);
}

bool rk_time_parse_precision(const char *s, int digits_required, rk_time *out)
{
	if (digits_required < 0)
		digits_required = 0;
	return parse(s, digits_required, out);
}

void rk_time_format(rk_time t, int ndigits, char out[RK_TIME_BUF])
{
	int64_t secs = t / 1000000, us = t % 1000000;
	if (us < 0) {
		us += 1000000;
		secs -= 1;
	}
	int64_t days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days -= 1;
	}
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int n = snprintf(out, RK_TIME_BUF, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d,
			 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	if (ndigits > 6)
		ndigits = 6;
	if (ndigits > 0 && n > 0 && n < RK_TIME_BUF - 9) {
		char frac[8];
		snprintf(frac, sizeof frac, "%06d", (int)us);
		out[n++] = '.';
		memcpy(out + n, frac, (size_t)ndigits);
		n += ndigits;
	}
	if (n > 0 && n < RK_TIME_BUF - 1) {
		out[n++] = 'Z';
		out[n] = '\0';
	}
}

rk_time rk_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (rk_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
