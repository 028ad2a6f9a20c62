/*
 * test_decode_quic.c: the TLS server name of QUIC connections
 * (decode_quic.c), on the RFC test vectors and on packets built here.
 *
 * IETF QUIC: the client Initial keys of RFC 9001 appendix A.1 and RFC 9369
 * appendix A.1; the protected client Initials of RFC 9001 appendix A.2 and
 * RFC 9369 appendix A.2 (their ClientHello names example.com) give the SNI
 * once; one byte flipped gives no SNI and one decrypt error. Packets built
 * with the test's own sealing helper (nettle, the RFC 9001 section 5
 * steps written out here) cover a ClientHello cut into reordered CRYPTO
 * frames across two Initials, a retransmission, the server's side, draft
 * 29, coalesced packets, a table too small, a slot timing out and packets
 * that are not Initials. Google QUIC: a CHLO built here gives SNI and UAID; truncated
 * and lying tag tables are counted as malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nettle/aes.h>
#include <nettle/gcm.h>

#include "decode.h"
#include "decode_int.h"
#include "decode_test_util.h"

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* RFC 9001 appendix A.2: the client Initial, 1200 bytes as sent. */
static const char rfc9001_a2[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	"e221af44860018ab0856972e194cd934"
	;

/* RFC 9369 appendix A.2: the same ClientHello in a QUIC v2 Initial. */
static const char rfc9369_a2[] =
	"d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
	"dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
	"9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
	"250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
	"12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
	"cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
	"18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
	"12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
	"d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
	"6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
	"bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
	"636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
	"ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
	"16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
	"4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
	"fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
	"8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
	"14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
	"9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
	"abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
	"80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
	"848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
	"d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
	"c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
	"7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
	"f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
	"10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
	"3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
	"06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
	"8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
	"34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
	"e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
	"5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
	"8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
	"d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
	"6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
	"9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
	"a18b2faa745b6fe189cf772a9f84cbfc"
	;

static const uint8_t rfc_dcid[8] = {0x83, 0x94, 0xc8, 0xf0,
				    0x3e, 0x51, 0x57, 0x08};

/* One UDP datagram 10.0.0.a:sport -> 10.0.0.b:dport, raw IPv4. */
static void send_udp(decode_ctx *d, unsigned a, unsigned sport, unsigned b,
		     unsigned dport, const uint8_t *pl, size_t n, int64_t ts)
{
	pkt p;
	p.n = 0;
	ip4(&p, 17, 1, 0, a, b);
	udp(&p, sport, dport, pl, n);
	pkt_finish_ip4(&p);
	decode_packet(d, DECODE_LINK_RAW, p.b, p.n, ts);
}

static uint64_t err(decode_ctx *d, decode_err e)
{
	return decode_get_stats(d)->errors[e];
}

static uint64_t quic_errors(decode_ctx *d)
{
	return err(d, DECODE_E_QUIC_DECRYPT) + err(d, DECODE_E_QUIC_MALFORMED) +
	       err(d, DECODE_E_QUIC_EVICTED) + err(d, DECODE_E_TLS_MALFORMED);
}

/* ------------------------------------------------------------ sealing */

/* A client Initial as RFC 9001 section 5 builds it, written out here with
 * nettle: keys from key_dcid, the header naming hdr_dcid (a client that
 * heard the server uses the server's ID but keeps its first keys), a
 * 2-byte packet number, AES-128-GCM over the payload with the header as
 * associated data, then header protection from the sample. */
static size_t seal_initial(uint8_t *out, uint32_t version,
			   const uint8_t *hdr_dcid, size_t hdr_dl,
			   const uint8_t *key_dcid, size_t key_dl, unsigned pn,
			   const uint8_t *payload, size_t plen)
{
	decode_quic_keys k;
	struct gcm_aes128_ctx gcm;
	struct aes128_ctx hp;
	uint8_t nonce[12], mask[16];
	size_t n = 0, pn_off, length = 2 + plen + 16;

	assert_int_equal(decode_quic_client_keys(version, key_dcid, key_dl, &k), 0);
	out[n++] = (uint8_t)(0xc0 | (version == 0x6b3343cfu ? 1 : 0) << 4 | 1);
	out[n++] = (uint8_t)(version >> 24);
	out[n++] = (uint8_t)(version >> 16);
	out[n++] = (uint8_t)(version >> 8);
	out[n++] = (uint8_t)version;
	out[n++] = (uint8_t)hdr_dl;
	memcpy(out + n, hdr_dcid, hdr_dl);
	n += hdr_dl;
	out[n++] = 0; /* no source connection ID */
	out[n++] = 0; /* no token */
	out[n++] = (uint8_t)(0x40 | length >> 8);
	out[n++] = (uint8_t)length;
	pn_off = n;
	out[n++] = (uint8_t)(pn >> 8);
	out[n++] = (uint8_t)pn;
	memcpy(nonce, k.iv, 12);
	nonce[10] ^= (uint8_t)(pn >> 8);
	nonce[11] ^= (uint8_t)pn;
	gcm_aes128_set_key(&gcm, k.key);
	gcm_aes128_set_iv(&gcm, 12, nonce);
	gcm_aes128_update(&gcm, n, out);
	gcm_aes128_encrypt(&gcm, plen, out + n, payload);
	gcm_aes128_digest(&gcm, 16, out + n + plen);
	aes128_set_encrypt_key(&hp, k.hp);
	aes128_encrypt(&hp, 16, mask, out + pn_off + 4);
	out[0] ^= mask[0] & 0x0f;
	out[pn_off] ^= mask[1];
	out[pn_off + 1] ^= mask[2];
	return n + plen + 16;
}

/* A CRYPTO frame (RFC 9000 section 19.6) with 2-byte varints. */
static size_t crypto_frame(uint8_t *out, size_t off, const uint8_t *data,
			   size_t n)
{
	out[0] = 0x06;
	out[1] = (uint8_t)(0x40 | off >> 8);
	out[2] = (uint8_t)off;
	out[3] = (uint8_t)(0x40 | n >> 8);
	out[4] = (uint8_t)n;
	memcpy(out + 5, data, n);
	return 5 + n;
}

/* A ClientHello naming sni, grown by a padding extension (RFC 7685) of
 * pad bytes: a large hello like those with a post-quantum key share. */
static size_t big_hello(uint8_t *out, const char *sni, size_t pad)
{
	size_t n = tls_client_hello(out, sni), body;
	/* the helper's extensions length follows its two cipher suites and
	 * one compression method */
	size_t el_off = 4 + 2 + 32 + 1 + 2 + 4 + 2;
	size_t el = (size_t)out[el_off] << 8 | out[el_off + 1];
	out[n++] = 0;
	out[n++] = 21;
	out[n++] = (uint8_t)(pad >> 8);
	out[n++] = (uint8_t)pad;
	memset(out + n, 0, pad);
	n += pad;
	el += 4 + pad;
	out[el_off] = (uint8_t)(el >> 8);
	out[el_off + 1] = (uint8_t)el;
	body = n - 4;
	out[1] = (uint8_t)(body >> 16);
	out[2] = (uint8_t)(body >> 8);
	out[3] = (uint8_t)body;
	return n;
}

/* ------------------------------------------------------------ RFC vectors */

static void test_initial_keys(void **state)
{
	decode_quic_keys k;
	uint8_t want[16];
	(void)state;
	/* RFC 9001 appendix A.1 */
	assert_int_equal(decode_quic_client_keys(1, rfc_dcid, 8, &k), 0);
	unhex("1f369613dd76d5467730efcbe3b1a22d", want);
	assert_memory_equal(k.key, want, 16);
	unhex("fa044b2f42a3fd3b46fb255c", want);
	assert_memory_equal(k.iv, want, 12);
	unhex("9f50449e04a0e810283a1e9933adedd2", want);
	assert_memory_equal(k.hp, want, 16);
	/* RFC 9369 appendix A.1 */
	assert_int_equal(decode_quic_client_keys(0x6b3343cfu, rfc_dcid, 8, &k), 0);
	unhex("8b1a0bc121284290a29e0971b5cd045d", want);
	assert_memory_equal(k.key, want, 16);
	unhex("91f73e2351d8fa91660e909f", want);
	assert_memory_equal(k.iv, want, 12);
	unhex("45b95e15235d6f45a6b19cbcb0294ba9", want);
	assert_memory_equal(k.hp, want, 16);
	/* a version without a salt we know */
	assert_int_equal(decode_quic_client_keys(0x1a2a3a4au, rfc_dcid, 8, &k), -1);
}

static void rfc_initial(const char *hex)
{
	uint8_t b[1200];
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);

	assert_non_null(d);
	assert_int_equal(unhex(hex, b), 1200);
	send_udp(d, 1, 51000, 2, 443, b, sizeof b, 1000000);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "tls.sni=example.com");
	/* a retransmission names nothing new */
	send_udp(d, 1, 51000, 2, 443, b, sizeof b, 1100000);
	assert_int_equal(s.n, 1);
	assert_int_equal(quic_errors(d), 0);
	decode_free(d);
}

static void test_rfc9001_client_initial(void **state)
{
	(void)state;
	rfc_initial(rfc9001_a2);
}

static void test_rfc9369_client_initial(void **state)
{
	(void)state;
	rfc_initial(rfc9369_a2);
}

static void test_flipped_byte(void **state)
{
	uint8_t b[1200];
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	unhex(rfc9001_a2, b);
	b[600] ^= 0x01;
	send_udp(d, 1, 51000, 2, 443, b, sizeof b, 1000000);
	assert_int_equal(s.n, 0);
	assert_int_equal(err(d, DECODE_E_QUIC_DECRYPT), 1);
	assert_int_equal(quic_errors(d), 1);
	/* the tag itself */
	unhex(rfc9001_a2, b);
	b[1199] ^= 0x80;
	send_udp(d, 1, 51001, 2, 443, b, sizeof b, 1000000);
	assert_int_equal(s.n, 0);
	assert_int_equal(err(d, DECODE_E_QUIC_DECRYPT), 2);
	decode_free(d);
}

/* ------------------------------------------------------------ built */

static const uint8_t dcid_a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t server_cid[5] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee};

/* The two halves of a large ClientHello: packet 1 carries [1000, end)
 * then [0, 400), packet 2 [400, 1000). */
static void split_payloads(const uint8_t *h, size_t hn, uint8_t *p1,
			   size_t *n1, uint8_t *p2, size_t *n2)
{
	*n1 = crypto_frame(p1, 1000, h + 1000, hn - 1000);
	*n1 += crypto_frame(p1 + *n1, 0, h, 400);
	*n2 = crypto_frame(p2, 400, h + 400, 600);
	memset(p2 + *n2, 0, 300); /* PADDING */
	*n2 += 300;
}

static void test_split_across_initials(void **state)
{
	uint8_t h[2000], p1[2100], p2[2100], q[2200];
	size_t hn, n1, n2, qn;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	hn = big_hello(h, "split.example.org", 1400);
	assert_true(hn > 1400 && hn < 1800);
	split_payloads(h, hn, p1, &n1, p2, &n2);
	qn = seal_initial(q, 1, dcid_a, 8, dcid_a, 8, 0, p1, n1);
	send_udp(d, 1, 40000, 2, 4433, q, qn, 1000000);
	assert_int_equal(s.n, 0);
	/* the server's Initial: its side is known, never tried */
	qn = seal_initial(q, 1, server_cid, 5, server_cid, 5, 0, p2, n2);
	send_udp(d, 2, 4433, 1, 40000, q, qn, 1010000);
	assert_int_equal(s.n, 0);
	/* the client now names the server's ID, with its first keys */
	qn = seal_initial(q, 1, server_cid, 5, dcid_a, 8, 1, p2, n2);
	send_udp(d, 1, 40000, 2, 4433, q, qn, 1020000);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "tls.sni=split.example.org");
	/* a retransmission of the first half: reported once */
	qn = seal_initial(q, 1, dcid_a, 8, dcid_a, 8, 2, p1, n1);
	send_udp(d, 1, 40000, 2, 4433, q, qn, 1030000);
	assert_int_equal(s.n, 1);
	assert_int_equal(quic_errors(d), 0);
	decode_free(d);
}

static void test_versions_and_coalesced(void **state)
{
	static const uint32_t versions[] = {1, 0x6b3343cfu, 0xff00001du,
					    0xff000020u};
	uint8_t h[600], pl[700], q[2400];
	size_t hn, pn, qn;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	hn = tls_client_hello(h, "v.example.com");
	pn = crypto_frame(pl, 0, h, hn);
	memset(pl + pn, 0, 100);
	pn += 100;
	for (unsigned i = 0; i < 4; i++) {
		qn = seal_initial(q, versions[i], dcid_a, 8, dcid_a, 8, 0, pl, pn);
		send_udp(d, 1, 41000 + i, 2, 443, q, qn, 1000000);
		assert_int_equal(s.n, (int)i + 1);
		assert_string_equal(s.v[i], "tls.sni=v.example.com");
	}
	/* RFC 9000 section 12.2: a 0-RTT packet (type 1, opaque to us)
	 * before the Initial in one datagram, and one after it */
	{
		static const uint8_t zero_rtt[] = {
			0xd1, 0, 0, 0, 1, 4, 9, 9, 9, 9, 0, 0x40, 20,
			1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
		memcpy(q, zero_rtt, sizeof zero_rtt);
		qn = sizeof zero_rtt;
		qn += seal_initial(q + qn, 1, dcid_a, 8, dcid_a, 8, 0, pl, pn);
		send_udp(d, 1, 42000, 2, 443, q, qn, 1000000);
		assert_int_equal(s.n, 5);
		qn = seal_initial(q, 1, dcid_a, 8, dcid_a, 8, 0, pl, pn);
		memcpy(q + qn, zero_rtt, sizeof zero_rtt);
		qn += sizeof zero_rtt;
		send_udp(d, 1, 42001, 2, 443, q, qn, 1000000);
		assert_int_equal(s.n, 6);
	}
	assert_int_equal(quic_errors(d), 0);
	decode_free(d);
}

static void test_not_client_initials(void **state)
{
	uint8_t q[1300];
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	/* a short-header (1-RTT) packet */
	memset(q, 0x5a, sizeof q);
	q[0] = 0x41;
	send_udp(d, 1, 43000, 2, 443, q, sizeof q, 1000000);
	/* a long header of a version we do not decode (a grease value) */
	q[0] = 0xc3;
	q[1] = 0x1a; q[2] = 0x2a; q[3] = 0x3a; q[4] = 0x4a;
	send_udp(d, 1, 43000, 2, 443, q, sizeof q, 1000000);
	/* version negotiation (version 0) */
	q[0] = 0x80;
	memset(q + 1, 0, 4);
	send_udp(d, 1, 43000, 2, 443, q, sizeof q, 1000000);
	/* a v1 Handshake packet alone */
	q[0] = 0xe1;
	q[1] = 0; q[2] = 0; q[3] = 0; q[4] = 1;
	q[5] = 0; q[6] = 0; q[7] = 0x44; q[8] = 0x00;
	send_udp(d, 1, 43000, 2, 443, q, sizeof q, 1000000);
	assert_int_equal(s.n, 0);
	assert_int_equal(quic_errors(d), 0);
	/* an Initial whose Length runs past the datagram is malformed */
	q[0] = 0xc1;
	q[7] = 0x7f; q[8] = 0xff;
	send_udp(d, 1, 43000, 2, 443, q, 100, 1000000);
	assert_int_equal(err(d, DECODE_E_QUIC_MALFORMED), 1);
	assert_int_equal(s.n, 0);
	decode_free(d);
}

static void test_table_bounds(void **state)
{
	uint8_t h[2000], p1[2100], p2[2100], q[2200];
	size_t hn, n1, n2, qn;
	seen s = {0};
	decode_config cfg = {0};
	decode_ctx *d;
	(void)state;

	cfg.quic_slots = 2;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, collect, &s);
	assert_non_null(d);
	hn = big_hello(h, "bound.example.org", 1400);
	split_payloads(h, hn, p1, &n1, p2, &n2);
	qn = seal_initial(q, 1, dcid_a, 8, dcid_a, 8, 0, p1, n1);
	/* three halves, two slots: the oldest is dropped and counted */
	for (unsigned i = 0; i < 3; i++)
		send_udp(d, 1, 44000 + i, 2, 443, q, qn, 1000000 + i);
	assert_int_equal(err(d, DECODE_E_QUIC_EVICTED), 1);
	qn = seal_initial(q, 1, dcid_a, 8, dcid_a, 8, 1, p2, n2);
	/* its first half was dropped; this half takes the slot of 44001 */
	send_udp(d, 1, 44000, 2, 443, q, qn, 1100000);
	assert_int_equal(s.n, 0);
	assert_int_equal(err(d, DECODE_E_QUIC_EVICTED), 2);
	send_udp(d, 1, 44002, 2, 443, q, qn, 1100000);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0], "tls.sni=bound.example.org");
	assert_int_equal(err(d, DECODE_E_QUIC_EVICTED), 2);
	decode_free(d);
}

/* Slots idle for quic_timeout_s (30 s) of capture time are dropped. */
static void test_timeout(void **state)
{
	uint8_t h[2000], p1[2100], p2[2100], q1[2200], q2[2200];
	size_t hn, n1, n2, qn1, qn2;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	hn = big_hello(h, "late.example.org", 1400);
	split_payloads(h, hn, p1, &n1, p2, &n2);
	qn1 = seal_initial(q1, 1, dcid_a, 8, dcid_a, 8, 0, p1, n1);
	qn2 = seal_initial(q2, 1, dcid_a, 8, dcid_a, 8, 1, p2, n2);
	send_udp(d, 1, 47000, 2, 443, q1, qn1, 1000000);
	send_udp(d, 1, 47001, 2, 443, q1, qn1, 1000000);
	send_udp(d, 1, 47001, 2, 443, q2, qn2, 29000000);
	assert_int_equal(s.n, 1);
	assert_int_equal(err(d, DECODE_E_QUIC_EVICTED), 0);
	send_udp(d, 1, 47000, 2, 443, q2, qn2, 32000000);
	assert_int_equal(s.n, 1);
	assert_int_equal(err(d, DECODE_E_QUIC_EVICTED), 1);
	decode_free(d);
}

/* ------------------------------------------------------------ gQUIC */

/* A Google QUIC (Q043) client packet carrying a CHLO with PAD, SNI, UAID
 * and VER tags (ends little-endian, relative to the values). */
static size_t gquic_chlo(uint8_t *out, const char *sni, const char *ua)
{
	static const uint8_t cid[8] = {0x11, 0x22, 0x33, 0x44,
				       0x55, 0x66, 0x77, 0x88};
	const char *tags[4] = {"PAD", "SNI", "UAID", "VER"};
	const char *vals[4] = {"----", sni, ua, "Q043"};
	size_t n = 0, end = 0;

	out[n++] = 0x09; /* version, 8-byte connection ID, 1-byte number */
	memcpy(out + n, cid, 8);
	n += 8;
	memcpy(out + n, "Q043", 4);
	n += 4;
	out[n++] = 1;            /* packet number */
	memset(out + n, 0x7e, 12); /* message hash */
	n += 12;
	out[n++] = 0xa0;         /* STREAM, data length present */
	out[n++] = 1;            /* stream 1: the crypto stream */
	out[n++] = 0;
	out[n++] = 0;            /* data length (not checked) */
	memcpy(out + n, "CHLO", 4);
	n += 4;
	out[n++] = 4;
	out[n++] = 0;
	out[n++] = 0;
	out[n++] = 0;
	for (int i = 0; i < 4; i++) {
		memset(out + n, 0, 4);
		memcpy(out + n, tags[i], strlen(tags[i]));
		end += strlen(vals[i]);
		out[n + 4] = (uint8_t)end;
		out[n + 5] = (uint8_t)(end >> 8);
		out[n + 6] = 0;
		out[n + 7] = 0;
		n += 8;
	}
	for (int i = 0; i < 4; i++) {
		memcpy(out + n, vals[i], strlen(vals[i]));
		n += strlen(vals[i]);
	}
	return n;
}

static void test_gquic_chlo(void **state)
{
	uint8_t q[600];
	size_t qn, sni_end;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	qn = gquic_chlo(q, "www.example.net", "Chrome/49.0 Linux x86_64");
	send_udp(d, 1, 45000, 2, 443, q, qn, 1000000);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "tls.sni=www.example.net");
	assert_string_equal(s.v[1], "http.user_agent=Chrome/49.0 Linux x86_64");
	assert_int_equal(quic_errors(d), 0);

	/* cut inside the values: the table promises more than is there */
	send_udp(d, 1, 45001, 2, 443, q, qn - 6, 1000000);
	assert_int_equal(s.n, 2);
	assert_int_equal(err(d, DECODE_E_QUIC_MALFORMED), 1);

	/* SNI's end offset lies far past the packet */
	sni_end = 13 + 1 + 12 + 4 + 8 + 8 + 4;
	assert_int_equal(q[sni_end], 4 + 15);
	q[sni_end + 1] = 0x7f;
	send_udp(d, 1, 45002, 2, 443, q, qn, 1000000);
	assert_int_equal(s.n, 2);
	assert_int_equal(err(d, DECODE_E_QUIC_MALFORMED), 2);

	/* end offsets that go down */
	q[sni_end + 1] = 0;
	q[sni_end] = 2;
	send_udp(d, 1, 45003, 2, 443, q, qn, 1000000);
	assert_int_equal(s.n, 2);
	assert_int_equal(err(d, DECODE_E_QUIC_MALFORMED), 3);

	/* a tag count the packet cannot hold */
	q[sni_end] = 4 + 15;
	q[34] = 100; /* 800 bytes of table */
	send_udp(d, 1, 45004, 2, 443, q, qn, 1000000);
	assert_int_equal(s.n, 2);
	assert_int_equal(err(d, DECODE_E_QUIC_MALFORMED), 4);
	decode_free(d);
}

static void test_gquic_q046(void **state)
{
	uint8_t q[700], old[600];
	size_t on, n = 0;
	seen s = {0};
	decode_ctx *d = decode_new(NULL, collect, &s);
	(void)state;

	assert_non_null(d);
	on = gquic_chlo(old, "q46.example.net", "Chrome/70");
	/* Q046: long header, DCIL 5 (8 bytes), no source ID, 4-byte number */
	q[n++] = 0xc3;
	memcpy(q + n, "Q046", 4);
	n += 4;
	q[n++] = 0x50;
	memcpy(q + n, old + 1, 8);
	n += 8;
	memset(q + n, 0, 3);
	q[n + 3] = 1;
	n += 4;
	memcpy(q + n, old + 14, on - 14); /* hash, frame, CHLO */
	n += on - 14;
	send_udp(d, 1, 46000, 2, 443, q, n, 1000000);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "tls.sni=q46.example.net");
	assert_string_equal(s.v[1], "http.user_agent=Chrome/70");
	assert_int_equal(quic_errors(d), 0);
	decode_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initial_keys),
		cmocka_unit_test(test_rfc9001_client_initial),
		cmocka_unit_test(test_rfc9369_client_initial),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_split_across_initials),
		cmocka_unit_test(test_versions_and_coalesced),
		cmocka_unit_test(test_not_client_initials),
		cmocka_unit_test(test_table_bounds),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_gquic_chlo),
		cmocka_unit_test(test_gquic_q046),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
