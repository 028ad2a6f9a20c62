/*
 * test_decode_hash.c: the packet hash that spreads packets over sensor
 * workers is the same in both directions, through VLAN tags and for every
 * IPv6 pair, differs between address pairs, and is 0 (never a crash) for
 * packets without a complete IP header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

/* Ethernet (optionally one 802.1Q tag) + an IPv4 header, no payload. */
static size_t eth_ip4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], int vlan)
{
	size_t n = 12;
	memset(p, 0, 64);
	if (vlan) {
		p[n++] = 0x81;
		p[n++] = 0x00;
		p[n++] = 0x00;
		p[n++] = 0x07;
	}
	p[n++] = 0x08;
	p[n++] = 0x00;
	p[n] = 0x45;
	p[n + 9] = 17;
	memcpy(p + n + 12, src, 4);
	memcpy(p + n + 16, dst, 4);
	return n + 20;
}

static void test_symmetric(void **state)
{
	(void)state;
	uint8_t a[64], b[64], c[64], v[64];
	const uint8_t x[4] = {10, 0, 0, 1}, y[4] = {192, 0, 2, 53}, z[4] = {192, 0, 2, 54};
	size_t la = eth_ip4(a, x, y, 0), lb = eth_ip4(b, y, x, 0), lc = eth_ip4(c, x, z, 0);
	size_t lv = eth_ip4(v, y, x, 1);
	uint32_t ha = decode_packet_hash(DECODE_LINK_ETHERNET, a, la);
	assert_int_not_equal(ha, 0);
	assert_int_equal(decode_packet_hash(DECODE_LINK_ETHERNET, b, lb), ha);
	assert_int_equal(decode_packet_hash(DECODE_LINK_ETHERNET, v, lv), ha);
	assert_int_not_equal(decode_packet_hash(DECODE_LINK_ETHERNET, c, lc), ha);
	/* raw IP link type: the same pair, the same hash */
	assert_int_equal(decode_packet_hash(DECODE_LINK_RAW, a + 14, la - 14), ha);

	uint8_t s6[40] = {0x60}, r6[40] = {0x60};
	for (int i = 0; i < 16; i++) {
		s6[8 + i] = r6[24 + i] = (uint8_t)(0x20 + i);
		s6[24 + i] = r6[8 + i] = (uint8_t)(0x90 - i);
	}
	uint32_t h6 = decode_packet_hash(DECODE_LINK_IPV6, s6, sizeof s6);
	assert_int_not_equal(h6, 0);
	assert_int_equal(decode_packet_hash(DECODE_LINK_IPV6, r6, sizeof r6), h6);
}

static void test_no_ip(void **state)
{
	(void)state;
	uint8_t a[64];
	const uint8_t x[4] = {10, 0, 0, 1}, y[4] = {192, 0, 2, 53};
	size_t la = eth_ip4(a, x, y, 0);
	for (size_t n = 0; n < 34; n++)
		assert_int_equal(decode_packet_hash(DECODE_LINK_ETHERNET, a, n), 0);
	assert_int_not_equal(decode_packet_hash(DECODE_LINK_ETHERNET, a, la), 0);
	assert_int_equal(decode_packet_hash(9999, a, la), 0);
	a[12] = 0x08;
	a[13] = 0x06; /* ARP */
	assert_int_equal(decode_packet_hash(DECODE_LINK_ETHERNET, a, la), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symmetric),
		cmocka_unit_test(test_no_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
