/*
 * stix_sco.c: the per-type rules of STIX 2.1 cyber-observable objects
 * (section 6) and of their predefined extensions.
 *
 * Address values (ipv4-addr, ipv6-addr, mac-addr) are checked for syntax
 * here because the sensor compiles them into matchers and the hub indexes
 * them: a value that is not an address would otherwise fail much later and
 * far from its source. The parsers are hand-written and allocation-free;
 * inet_pton would accept forms STIX does not (and is locale-free anyway,
 * but gives no CIDR).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "stix_int.h"

#define TRY(x)                          \
	do {                            \
		rk_err e_ = (x);        \
		if (e_ != RK_OK)        \
			return e_;      \
	} while (0)

/* ---------------------------------------------------------------- syntax */

/* Optional "/N" with 0 <= N <= max, no leading zeros; p points at '/' or
 * the end. */
static bool
stix_prefix_ok(const char *p, int max)
{
	if (*p == '\0')
		return true;
	if (*p++ != '/' || *p == '\0')
		return false;
	if (p[0] == '0' && p[1] != '\0')
		return false;
	int n = 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (*p - '0');
		if (n > max)
			return false;
	}
	return true;
}

/* Dotted quad (0-255, no leading zeros), optionally "/0".."/32". */
bool
stix_ipv4_valid(const char *s)
{
	const char *p = s;
	for (int part = 0; part < 4; part++) {
		if (part > 0 && *p++ != '.')
			return false;
		if (*p < '0' || *p > '9')
			return false;
		if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return false;
		int n = 0, digits = 0;
		for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
			n = n * 10 + (*p - '0');
		if (digits > 3 || n > 255)
			return false;
	}
	return stix_prefix_ok(p, 32);
}

/* RFC 4291 section 2.2 text forms, optionally "/0".."/128". */
bool
stix_ipv6_valid(const char *s)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	return stix_prefix_ok(s + n, 128);
}

/* Section 6.9: "a single colon-delimited, lowercase MAC-48 address". */
bool
stix_mac_valid(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		if (i % 3 == 2) {
			if (c != ':')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return true;
}

/* RFC 3986 section 3.1: a scheme, ':', then no whitespace or controls. */
static bool
stix_url_valid(const char *s)
{
	if (!isalpha((unsigned char)s[0]))
		return false;
	const char *p = s + 1;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return false;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static rk_err
stix_value(stix_vctx *v, const json_t *obj, bool (*ok)(const char *),
	   const char *what)
{
	const char *s = NULL;
	TRY(stix_p_string(v, obj, "value", true, &s));
	if (!ok(s))
		return stix_fail_key(v, "value", "not %s", what);
	return RK_OK;
}

/* ---------------------------------------------------------------- SCOs */

static const char *const stix_enc_algos[] = {
	"AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated", NULL,
};

rk_err
stix_check_artifact(stix_vctx *v, const json_t *obj)
{
	const json_t *bin = json_object_get(obj, "payload_bin");
	const json_t *url = json_object_get(obj, "url");
	TRY(stix_p_string(v, obj, "mime_type", false, NULL));
	TRY(stix_p_binary(v, obj, "payload_bin", false));
	TRY(stix_p_string(v, obj, "url", false, NULL));
	TRY(stix_p_hashes(v, obj, "hashes", false));
	/* Section 6.1: payload_bin or url, not both; url needs hashes;
	 * decryption_key only with encryption_algorithm. */
	if (bin != NULL && url != NULL)
		return stix_fail_key(v, "url", "must not be present with "
					       "payload_bin");
	if (url != NULL && json_object_get(obj, "hashes") == NULL)
		return stix_fail_key(v, "hashes", "required when url is present");
	TRY(stix_p_enum(v, obj, "encryption_algorithm", false, stix_enc_algos));
	TRY(stix_p_string(v, obj, "decryption_key", false, NULL));
	if (json_object_get(obj, "decryption_key") != NULL &&
	    json_object_get(obj, "encryption_algorithm") == NULL)
		return stix_fail_key(v, "encryption_algorithm",
				     "required when decryption_key is present");
	return RK_OK;
}

rk_err
stix_check_autonomous_system(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_int(v, obj, "number", true, 0, 4294967295LL));
	TRY(stix_p_string(v, obj, "name", false, NULL));
	return stix_p_string(v, obj, "rir", false, NULL);
}

rk_err
stix_check_directory(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "path", true, NULL));
	TRY(stix_p_string(v, obj, "path_enc", false, NULL));
	TRY(stix_p_time(v, obj, "ctime", false, 0, NULL, NULL));
	TRY(stix_p_time(v, obj, "mtime", false, 0, NULL, NULL));
	TRY(stix_p_time(v, obj, "atime", false, 0, NULL, NULL));
	return stix_p_refs(v, obj, "contains_refs", false,
			   STIX_TYPES("file", "directory"));
}

rk_err
stix_check_domain_name(stix_vctx *v, const json_t *obj)
{
	const char *s = NULL;
	TRY(stix_p_string(v, obj, "value", true, &s));
	if (s[0] == '\0')
		return stix_fail_key(v, "value", "must not be empty");
	return stix_p_refs(v, obj, "resolves_to_refs", false,
			   STIX_TYPES("ipv4-addr", "ipv6-addr", "domain-name"));
}

rk_err
stix_check_email_addr(stix_vctx *v, const json_t *obj)
{
	const char *s = NULL;
	TRY(stix_p_string(v, obj, "value", true, &s));
	/* Section 6.5: an RFC 5322 addr-spec; at least local@domain. */
	const char *at = strrchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0')
		return stix_fail_key(v, "value", "not an email address");
	TRY(stix_p_string(v, obj, "display_name", false, NULL));
	return stix_p_ref(v, obj, "belongs_to_ref", false,
			  STIX_TYPES("user-account"));
}

static rk_err
stix_mime_part(stix_vctx *v, const json_t *part)
{
	if (!json_is_object(part))
		return stix_fail(v, "must be a mime-part-type object");
	const json_t *body = json_object_get(part, "body");
	const json_t *raw = json_object_get(part, "body_raw_ref");
	/* Section 6.6.2: one of body or body_raw_ref. */
	if ((body == NULL) == (raw == NULL))
		return stix_fail(v, "needs exactly one of body and body_raw_ref");
	TRY(stix_p_string(v, part, "body", false, NULL));
	TRY(stix_p_ref(v, part, "body_raw_ref", false,
		       STIX_TYPES("artifact", "file")));
	TRY(stix_p_string(v, part, "content_type", false, NULL));
	TRY(stix_p_string(v, part, "content_disposition", false, NULL));
	return RK_OK;
}

rk_err
stix_check_email_message(stix_vctx *v, const json_t *obj)
{
	bool multi = false;
	TRY(stix_p_bool(v, obj, "is_multipart", true, &multi));
	/* Section 6.6: body only when not multipart, body_multipart only
	 * when multipart. */
	if (multi && json_object_get(obj, "body") != NULL)
		return stix_fail_key(v, "body",
				     "must not be present when is_multipart "
				     "is true");
	if (!multi && json_object_get(obj, "body_multipart") != NULL)
		return stix_fail_key(v, "body_multipart",
				     "must not be present when is_multipart "
				     "is false");
	TRY(stix_p_time(v, obj, "date", false, 0, NULL, NULL));
	TRY(stix_p_string(v, obj, "content_type", false, NULL));
	TRY(stix_p_ref(v, obj, "from_ref", false, STIX_TYPES("email-addr")));
	TRY(stix_p_ref(v, obj, "sender_ref", false, STIX_TYPES("email-addr")));
	TRY(stix_p_refs(v, obj, "to_refs", false, STIX_TYPES("email-addr")));
	TRY(stix_p_refs(v, obj, "cc_refs", false, STIX_TYPES("email-addr")));
	TRY(stix_p_refs(v, obj, "bcc_refs", false, STIX_TYPES("email-addr")));
	TRY(stix_p_string(v, obj, "message_id", false, NULL));
	TRY(stix_p_string(v, obj, "subject", false, NULL));
	TRY(stix_p_strings(v, obj, "received_lines", false));
	TRY(stix_p_dict(v, obj, "additional_header_fields", false));
	TRY(stix_p_string(v, obj, "body", false, NULL));
	TRY(stix_p_ref(v, obj, "raw_email_ref", false, STIX_TYPES("artifact")));
	const json_t *parts = json_object_get(obj, "body_multipart");
	if (parts == NULL)
		return RK_OK;
	if (!json_is_array(parts) || json_array_size(parts) == 0)
		return stix_fail_key(v, "body_multipart",
				     "must be a non-empty list");
	size_t m = stix_path_key(v, "body_multipart");
	rk_err e = RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(parts, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		e = stix_mime_part(v, it);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

rk_err
stix_check_file(stix_vctx *v, const json_t *obj)
{
	/* Section 6.7: hashes or name MUST be present. */
	if (json_object_get(obj, "hashes") == NULL &&
	    json_object_get(obj, "name") == NULL)
		return stix_fail(v, "a file needs hashes or name");
	TRY(stix_p_hashes(v, obj, "hashes", false));
	TRY(stix_p_int(v, obj, "size", false, 0, STIX_INT_MAX));
	TRY(stix_p_string(v, obj, "name", false, NULL));
	TRY(stix_p_string(v, obj, "name_enc", false, NULL));
	TRY(stix_p_hex(v, obj, "magic_number_hex", false));
	TRY(stix_p_string(v, obj, "mime_type", false, NULL));
	TRY(stix_p_time(v, obj, "ctime", false, 0, NULL, NULL));
	TRY(stix_p_time(v, obj, "mtime", false, 0, NULL, NULL));
	TRY(stix_p_time(v, obj, "atime", false, 0, NULL, NULL));
	TRY(stix_p_ref(v, obj, "parent_directory_ref", false,
		       STIX_TYPES("directory")));
	TRY(stix_p_refs(v, obj, "contains_refs", false, NULL));
	return stix_p_ref(v, obj, "content_ref", false, STIX_TYPES("artifact"));
}

rk_err
stix_check_ipv4_addr(stix_vctx *v, const json_t *obj)
{
	TRY(stix_value(v, obj, stix_ipv4_valid, "an IPv4 address or CIDR block"));
	TRY(stix_p_refs(v, obj, "resolves_to_refs", false,
			STIX_TYPES("mac-addr")));
	return stix_p_refs(v, obj, "belongs_to_refs", false,
			   STIX_TYPES("autonomous-system"));
}

rk_err
stix_check_ipv6_addr(stix_vctx *v, const json_t *obj)
{
	TRY(stix_value(v, obj, stix_ipv6_valid, "an IPv6 address or CIDR block"));
	TRY(stix_p_refs(v, obj, "resolves_to_refs", false,
			STIX_TYPES("mac-addr")));
	return stix_p_refs(v, obj, "belongs_to_refs", false,
			   STIX_TYPES("autonomous-system"));
}

rk_err
stix_check_mac_addr(stix_vctx *v, const json_t *obj)
{
	return stix_value(v, obj, stix_mac_valid,
			  "a lowercase colon-delimited MAC-48 address");
}

rk_err
stix_check_mutex(stix_vctx *v, const json_t *obj)
{
	return stix_p_string(v, obj, "name", true, NULL);
}

rk_err
stix_check_network_traffic(stix_vctx *v, const json_t *obj)
{
	bool active = false;
	static const char *const counts[] = {
		"src_byte_count", "dst_byte_count", "src_packets", "dst_packets",
		NULL,
	};
	/* Section 6.12: at least one of src_ref and dst_ref. */
	if (json_object_get(obj, "src_ref") == NULL &&
	    json_object_get(obj, "dst_ref") == NULL)
		return stix_fail(v, "a network-traffic needs src_ref or dst_ref");
	TRY(stix_p_strings(v, obj, "protocols", true));
	TRY(stix_p_bool(v, obj, "is_active", false, &active));
	if (active && json_object_get(obj, "end") != NULL)
		return stix_fail_key(v, "end", "must not be present when "
					       "is_active is true");
	TRY(stix_p_time(v, obj, "start", false, 0, NULL, NULL));
	TRY(stix_p_time_order(v, obj, "start", "end", false));
	static const char *const addr[] = {
		"ipv4-addr", "ipv6-addr", "mac-addr", "domain-name", NULL,
	};
	TRY(stix_p_ref(v, obj, "src_ref", false, addr));
	TRY(stix_p_ref(v, obj, "dst_ref", false, addr));
	TRY(stix_p_int(v, obj, "src_port", false, 0, 65535));
	TRY(stix_p_int(v, obj, "dst_port", false, 0, 65535));
	for (const char *const *c = counts; *c != NULL; c++)
		TRY(stix_p_int(v, obj, *c, false, 0, STIX_INT_MAX));
	TRY(stix_p_dict(v, obj, "ipfix", false));
	TRY(stix_p_ref(v, obj, "src_payload_ref", false, STIX_TYPES("artifact")));
	TRY(stix_p_ref(v, obj, "dst_payload_ref", false, STIX_TYPES("artifact")));
	TRY(stix_p_refs(v, obj, "encapsulates_refs", false,
			STIX_TYPES("network-traffic")));
	return stix_p_ref(v, obj, "encapsulated_by_ref", false,
			  STIX_TYPES("network-traffic"));
}

rk_err
stix_check_process(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_bool(v, obj, "is_hidden", false, NULL));
	TRY(stix_p_int(v, obj, "pid", false, 0, STIX_INT_MAX));
	TRY(stix_p_time(v, obj, "created_time", false, 0, NULL, NULL));
	TRY(stix_p_string(v, obj, "cwd", false, NULL));
	TRY(stix_p_string(v, obj, "command_line", false, NULL));
	TRY(stix_p_dict(v, obj, "environment_variables", false));
	TRY(stix_p_refs(v, obj, "opened_connection_refs", false,
			STIX_TYPES("network-traffic")));
	TRY(stix_p_ref(v, obj, "creator_user_ref", false,
		       STIX_TYPES("user-account")));
	TRY(stix_p_ref(v, obj, "image_ref", false, STIX_TYPES("file")));
	TRY(stix_p_ref(v, obj, "parent_ref", false, STIX_TYPES("process")));
	return stix_p_refs(v, obj, "child_refs", false, STIX_TYPES("process"));
}

rk_err
stix_check_software(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "name", true, NULL));
	TRY(stix_p_string(v, obj, "cpe", false, NULL));
	TRY(stix_p_string(v, obj, "swid", false, NULL));
	TRY(stix_p_strings(v, obj, "languages", false));
	TRY(stix_p_string(v, obj, "vendor", false, NULL));
	return stix_p_string(v, obj, "version", false, NULL);
}

rk_err
stix_check_url(stix_vctx *v, const json_t *obj)
{
	return stix_value(v, obj, stix_url_valid, "a URL (RFC 3986)");
}

rk_err
stix_check_user_account(stix_vctx *v, const json_t *obj)
{
	static const char *const strs[] = {
		"user_id", "credential", "account_login", "account_type",
		"display_name", NULL,
	};
	static const char *const bools[] = {
		"is_service_account", "is_privileged", "can_escalate_privs",
		"is_disabled", NULL,
	};
	static const char *const times[] = {
		"account_created", "account_expires", "credential_last_changed",
		"account_first_login", "account_last_login", NULL,
	};
	for (const char *const *s = strs; *s != NULL; s++)
		TRY(stix_p_string(v, obj, *s, false, NULL));
	for (const char *const *s = bools; *s != NULL; s++)
		TRY(stix_p_bool(v, obj, *s, false, NULL));
	for (const char *const *s = times; *s != NULL; s++)
		TRY(stix_p_time(v, obj, *s, false, 0, NULL, NULL));
	return RK_OK;
}

static const char *const stix_reg_types[] = {
	"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD",
	"REG_DWORD_BIG_ENDIAN", "REG_DWORD_LITTLE_ENDIAN", "REG_LINK",
	"REG_MULTI_SZ", "REG_RESOURCE_LIST", "REG_FULL_RESOURCE_DESCRIPTION",
	"REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD", "REG_INVALID_TYPE", NULL,
};

rk_err
stix_check_windows_registry_key(stix_vctx *v, const json_t *obj)
{
	const char *key = NULL;
	TRY(stix_p_string(v, obj, "key", false, &key));
	/* Section 6.17: the full hive name, never an abbreviation. */
	static const char *const abbrev[] = {
		"HKLM", "HKCU", "HKCR", "HKCC", "HKU", NULL,
	};
	if (key != NULL) {
		for (const char *const *a = abbrev; *a != NULL; a++) {
			size_t n = strlen(*a);
			if (strncasecmp(key, *a, n) == 0 &&
			    (key[n] == '\\' || key[n] == '\0'))
				return stix_fail_key(v, "key",
						     "hive abbreviations are not "
						     "allowed: use the full name "
						     "(HKEY_LOCAL_MACHINE)");
		}
	}
	TRY(stix_p_time(v, obj, "modified_time", false, 0, NULL, NULL));
	TRY(stix_p_ref(v, obj, "creator_user_ref", false,
		       STIX_TYPES("user-account")));
	TRY(stix_p_int(v, obj, "number_of_subkeys", false, 0, STIX_INT_MAX));
	const json_t *vals = json_object_get(obj, "values");
	if (vals == NULL)
		return RK_OK;
	if (!json_is_array(vals) || json_array_size(vals) == 0)
		return stix_fail_key(v, "values", "must be a non-empty list");
	size_t m = stix_path_key(v, "values");
	rk_err e = RK_OK;
	size_t i;
	const json_t *it;
	json_array_foreach(vals, i, it)
	{
		size_t m2 = stix_path_index(v, i);
		if (!json_is_object(it) || json_object_size(it) == 0)
			e = stix_fail(v, "must be a windows-registry-value-type "
					 "object");
		if (e == RK_OK)
			e = stix_p_string(v, it, "name", false, NULL);
		if (e == RK_OK)
			e = stix_p_string(v, it, "data", false, NULL);
		if (e == RK_OK)
			e = stix_p_enum(v, it, "data_type", false,
					stix_reg_types);
		stix_path_pop(v, m2);
		if (e != RK_OK)
			break;
	}
	stix_path_pop(v, m);
	return e;
}

rk_err
stix_check_x509_certificate(stix_vctx *v, const json_t *obj)
{
	static const char *const strs[] = {
		"version", "serial_number", "signature_algorithm", "issuer",
		"subject", "subject_public_key_algorithm",
		"subject_public_key_modulus", NULL,
	};
	TRY(stix_p_bool(v, obj, "is_self_signed", false, NULL));
	TRY(stix_p_hashes(v, obj, "hashes", false));
	for (const char *const *s = strs; *s != NULL; s++)
		TRY(stix_p_string(v, obj, *s, false, NULL));
	TRY(stix_p_int(v, obj, "subject_public_key_exponent", false, 0,
		       STIX_INT_MAX));
	TRY(stix_p_time(v, obj, "validity_not_before", false, 0, NULL, NULL));
	TRY(stix_p_time_order(v, obj, "validity_not_before",
			      "validity_not_after", false));
	return stix_p_dict(v, obj, "x509_v3_extensions", false);
}

/* ---------------------------------------------------------------- extensions */

static const char *const stix_addr_family[] = {
	"AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS",
	"AF_INET6", "AF_IRDA", "AF_BTH", NULL,
};
static const char *const stix_socket_type[] = {
	"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET",
	NULL,
};

rk_err
stix_check_sco_ext(stix_vctx *v, const char *name, const json_t *ext)
{
	if (strcmp(name, "archive-ext") == 0)
		return stix_p_refs(v, ext, "contains_refs", true,
				   STIX_TYPES("file", "directory"));
	if (strcmp(name, "http-request-ext") == 0) {
		TRY(stix_p_string(v, ext, "request_method", true, NULL));
		TRY(stix_p_string(v, ext, "request_value", true, NULL));
		TRY(stix_p_dict(v, ext, "request_header", false));
		return stix_p_ref(v, ext, "message_body_data_ref", false,
				  STIX_TYPES("artifact"));
	}
	if (strcmp(name, "icmp-ext") == 0) {
		TRY(stix_p_hex(v, ext, "icmp_type_hex", true));
		return stix_p_hex(v, ext, "icmp_code_hex", true);
	}
	if (strcmp(name, "socket-ext") == 0) {
		TRY(stix_p_enum(v, ext, "address_family", true,
				stix_addr_family));
		TRY(stix_p_enum(v, ext, "socket_type", false, stix_socket_type));
		TRY(stix_p_bool(v, ext, "is_blocking", false, NULL));
		return stix_p_bool(v, ext, "is_listening", false, NULL);
	}
	if (strcmp(name, "tcp-ext") == 0) {
		TRY(stix_p_hex(v, ext, "src_flags_hex", false));
		return stix_p_hex(v, ext, "dst_flags_hex", false);
	}
	if (strcmp(name, "windows-pebinary-ext") == 0)
		return stix_p_string(v, ext, "pe_type", true, NULL);
	if (strcmp(name, "windows-service-ext") == 0)
		return stix_p_refs(v, ext, "service_dll_refs", false,
				   STIX_TYPES("file"));
	if (strcmp(name, "unix-account-ext") == 0) {
		TRY(stix_p_int(v, ext, "gid", false, STIX_INT_MIN,
			       STIX_INT_MAX));
		return stix_p_strings(v, ext, "groups", false);
	}
	return RK_OK;
}
