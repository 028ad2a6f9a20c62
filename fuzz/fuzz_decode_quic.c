/*
 * fuzz_decode_quic.c: libFuzzer harness for the QUIC decoder
 * (decode_quic.c): IETF QUIC client Initials (header, header protection,
 * AEAD, frames, CRYPTO reassembly across packets, the ClientHello behind
 * it) and Google QUIC's CHLO.
 *
 * Input: a mode byte, then up to 16 chunks, each a 2-byte big-endian
 * length and that many bytes (a length past the input takes the rest).
 * Mode bits:
 *   0x01  sealed: each chunk is the plaintext payload of a QUIC client
 *         Initial that the harness protects itself (RFC 9001 section 5,
 *         fixed DCID, packet number = chunk number, the keys from
 *         decode_int.h's decode_quic_client_keys), so the fuzzer works
 *         on frames and reassembly instead of on AES-GCM tags; without
 *         it each chunk is a UDP payload as captured
 *   0x02  sealed as QUIC v2 (RFC 9369) instead of v1
 *   0x04  odd chunks go the other way (server to client)
 *   0x08  one reassembly slot instead of four (eviction)
 *   0x10  each chunk on its own client port (many connections)
 *   0x20  31 s of capture time between chunks (past the 30 s slot timeout)
 * Chunks go to port 443 wrapped in IPv4/UDP by fuzz_net.h; every
 * observable is checked by fuzz_observe and the counters by
 * fuzz_check_stats.
 *
 * Seeds (fuzz/corpus/decode_quic/, see its README): the client Initials of
 * RFC 9001 and RFC 9369 appendix A.2, client Initials cut out of the
 * suricata-verify and Zeek QUIC captures, hand-made sealed payloads (the
 * RFC ClientHello in reordered CRYPTO frames over two packets) and
 * hand-made Google QUIC CHLOs.
 */
#include <stdint.h>

#include <nettle/aes.h>
#include <nettle/gcm.h>

#include "decode_int.h"
#include "fuzz_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QUIC_FUZZ_CHUNKS 16
#define QUIC_FUZZ_PAYLOAD 4000

static uint8_t pkt[FUZZ_IP_MAX];
static uint8_t sealed[QUIC_FUZZ_PAYLOAD + 64];

/* A client Initial around payload: header with the DCID 8394c8f03e515708
 * (RFC 9001's), a 2-byte Length and packet number, AES-128-GCM, then
 * header protection. */
static size_t seal(uint32_t version, unsigned pn, const uint8_t *pl,
		   size_t plen)
{
	static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0,
					0x3e, 0x51, 0x57, 0x08};
	decode_quic_keys k;
	struct gcm_aes128_ctx gcm;
	struct aes128_ctx hp;
	uint8_t nonce[12], mask[16], zero[2] = {0, 0};
	size_t n = 0, pn_off, length;

	if (plen < 2) { /* the sample needs 4 bytes past the number */
		pl = zero;
		plen = 2;
	}
	length = 2 + plen + 16;
	decode_quic_client_keys(version, dcid, 8, &k);
	sealed[n++] = (uint8_t)(0xc0 | (version == 1 ? 0 : 1) << 4 | 1);
	fuzz_put32(sealed + n, version);
	n += 4;
	sealed[n++] = 8;
	memcpy(sealed + n, dcid, 8);
	n += 8;
	sealed[n++] = 0;
	sealed[n++] = 0;
	fuzz_put16(sealed + n, (unsigned)(0x4000 | length));
	n += 2;
	pn_off = n;
	fuzz_put16(sealed + n, pn);
	n += 2;
	memcpy(nonce, k.iv, 12);
	nonce[10] ^= (uint8_t)(pn >> 8);
	nonce[11] ^= (uint8_t)pn;
	gcm_aes128_set_key(&gcm, k.key);
	gcm_aes128_set_iv(&gcm, 12, nonce);
	gcm_aes128_update(&gcm, n, sealed);
	gcm_aes128_encrypt(&gcm, plen, sealed + n, pl);
	gcm_aes128_digest(&gcm, 16, sealed + n + plen);
	aes128_set_encrypt_key(&hp, k.hp);
	aes128_encrypt(&hp, 16, mask, sealed + pn_off + 4);
	sealed[0] ^= mask[0] & 0x0f;
	sealed[pn_off] ^= mask[1];
	sealed[pn_off + 1] ^= mask[2];
	return n + plen + 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_seen seen = {{0}, 0};
	decode_config cfg = {0};
	decode_ctx *d;
	uint8_t mode;
	int64_t ts = 1000000;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	cfg.flows = 4;
	cfg.flow_buf = 256;
	cfg.frag_slots = 2;
	cfg.frag_max_bytes = 2048;
	cfg.quic_slots = (mode & 0x08) ? 1 : 4;
	cfg.emit_addresses = 1;
	d = decode_new(&cfg, fuzz_observe, &seen);
	if (!d)
		return 0;
	for (unsigned i = 0; i < QUIC_FUZZ_CHUNKS && size >= 2; i++) {
		size_t n = (size_t)data[0] << 8 | data[1], l;
		const uint8_t *c = data + 2;
		uint16_t port = (uint16_t)(40000 + ((mode & 0x10) ? i : 0));
		int reverse = (mode & 0x04) && (i & 1);
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		data += n;
		size -= n;
		if (mode & 0x01) {
			if (n > QUIC_FUZZ_PAYLOAD)
				n = QUIC_FUZZ_PAYLOAD;
			n = seal((mode & 0x02) ? 0x6b3343cfu : 1, i, c, n);
			c = sealed;
		}
		l = reverse ? fuzz_udp(pkt, 443, port, c, n, 1)
			    : fuzz_udp(pkt, port, 443, c, n, 0);
		fuzz_packet(d, DECODE_LINK_RAW, pkt, l, ts);
		ts += (mode & 0x20) ? 31000000 : 1000;
	}
	fuzz_check_stats(d, &seen);
	decode_free(d);
	return 0;
}
