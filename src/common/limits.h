/*
 * limits.h: every bound renkei puts on growable input, in one place.
 *
 * Untrusted input (HTTP bodies, STIX documents, TAXII query strings, config
 * and directory files) is checked against these before it can grow memory or
 * recursion. Operators see the same numbers in renkei.conf(5); the ones
 * marked "configurable" are defaults that the config file may lower or raise
 * within the hard ceiling given beside them.
 */
#ifndef RK_LIMITS_H
#define RK_LIMITS_H

/* HTTP request body (TAXII max_content_length), configurable up to the
 * hard ceiling. */
#define RK_MAX_CONTENT_LENGTH_DEFAULT (10u * 1024u * 1024u)
#define RK_MAX_CONTENT_LENGTH_CEILING (256u * 1024u * 1024u)

/* JSON nesting depth (objects and arrays) accepted anywhere. STIX needs
 * about 8; the rest is headroom for extensions. */
#define RK_MAX_JSON_DEPTH 64

/* Objects in one TAXII envelope or STIX bundle posted to the hub. */
#define RK_MAX_OBJECTS_PER_ENVELOPE 10000

/* Largest single STIX object, serialised. */
#define RK_MAX_OBJECT_BYTES (4u * 1024u * 1024u)

/* TAXII paging: default and largest `limit`. */
#define RK_PAGE_DEFAULT 100
#define RK_PAGE_MAX 1000

/* Values in one comma-separated match[...] filter, and length of a query
 * string. */
#define RK_MAX_FILTER_VALUES 100
#define RK_MAX_QUERY_BYTES 8192

/* Length of a paging cursor (`next`) as sent by a client. */
#define RK_MAX_CURSOR_BYTES 256

/* STIX identifiers: `type--UUID`; type names are at most 250 characters
 * (STIX 2.1 section 2.9). */
#define RK_MAX_STIX_TYPE 250
#define RK_MAX_STIX_ID (RK_MAX_STIX_TYPE + 2 + 36)

/* Directory: entry counts and name lengths. */
#define RK_MAX_DIR_ENTRIES 100000
#define RK_MAX_NAME 256

/* API tokens: length of a token accepted from a directory file, and the
 * random bytes in a token renkei makes itself (256 bits). */
#define RK_TOKEN_MIN_CHARS 32
#define RK_TOKEN_MAX_CHARS 256
#define RK_TOKEN_RANDOM_BYTES 32

/* Status resources kept per API root before the oldest are dropped. */
#define RK_MAX_STATUS_KEPT 100000

/* Concurrent HTTP connections served by one hub. */
#define RK_MAX_CONNECTIONS 1024

/* Config file line length. */
#define RK_MAX_CONFIG_LINE 4096

/* Longest log line the sensor reads (Zeek, Suricata EVE, text); a longer
 * line is counted, reported and skipped. EVE lines with large HTTP headers
 * stay well below. */
#define RK_MAX_LOG_LINE (64 * 1024)

/* The sensor's uplink: sightings waiting on disk for the hub (past this,
 * closed intervals wait in memory and the error says so); markings copied
 * from an indicator onto its sightings; objects asked for per feed page
 * and sightings per envelope; the whole-request timeout against a hub. */
#define RK_SPOOL_MAX_BYTES (64u * 1024u * 1024u)
#define RK_SIGHTING_MAX_MARKINGS 8
#define RK_FEED_PAGE_LIMIT 1000
#define RK_SIGHTINGS_PER_ENVELOPE 500
#define RK_UPLINK_TIMEOUT_SECONDS 30

/* Feed import (`renkei feed import`, src/feeds): one feed file read whole
 * up to this size; a longer line is rejected (reported with its number)
 * and the next line read; values kept per import (new, changed and seen
 * ids); entries per warning list file. */
#define RK_FEED_MAX_FILE (256u * 1024u * 1024u)
#define RK_FEED_MAX_LINE (64 * 1024)
#define RK_FEED_MAX_ITEMS 5000000
#define RK_FEED_MAX_WARN_ENTRIES 1000000
/* Rejected lines reported with file:line and reason per import; the rest
 * are counted only. */
#define RK_FEED_MAX_REJECTS_KEPT 10000
/* A remote TAXII collection as a feed (`--format taxii`): pages followed
 * per import (a source that keeps saying `more` is an error past this),
 * and the whole-request bound on each of its requests. */
#define RK_FEED_MAX_PAGES 100000
#define RK_FEED_SOURCE_TIMEOUT_SECONDS 120
/* The feed schedule (`renkei feed run`): feeds per schedule file, the
 * length of a feed's name, warning list files, the interval between runs
 * (default, shortest, longest, in seconds) and the first retry after a
 * failed run (doubling up to the interval). */
#define RK_FEED_MAX_JOBS 1000
#define RK_FEED_MAX_NAME 128
#define RK_FEED_MAX_WARNLISTS 64
#define RK_FEED_DEFAULT_INTERVAL 3600
#define RK_FEED_MIN_INTERVAL 10
#define RK_FEED_MAX_INTERVAL (30 * 86400)
#define RK_FEED_RETRY_FIRST 60

/* Anonymous submission (src/anonymise): pattern rules and owned entries
 * in a rules file; names of individuals scrubbed per envelope; the PCRE2
 * match limit per string (a pattern that hits it holds the object for
 * review instead of being trusted); findings kept per envelope (past it
 * one more finding says how many were left out). */
#define RK_ANON_MAX_RULES 1024
#define RK_ANON_MAX_NAMES 256
#define RK_ANON_MATCH_LIMIT 1000000u
#define RK_ANON_MAX_FINDINGS 4096
/* Asset registry (src/assets): claims per organisation and in all, the
 * widest blocks that may be claimed, and claim values per request. */
#define RK_ASSETS_MAX_CLAIMS_PER_ORG 10000
#define RK_ASSETS_MAX_CLAIMS 200000
#define RK_ASSETS_MIN_PREFIX4 8
#define RK_ASSETS_MIN_PREFIX6 16
#define RK_ASSETS_MAX_PER_REQUEST 1000

/* Notifications (src/notify): observables taken from one object, objects
 * it refers to that are followed, what a webhook receiver's answer may
 * hold (read and dropped), the notification configuration file, the
 * addresses one digest goes to, and the organisations it configures. */
#define RK_NOTIFY_MAX_OBSERVABLES 256
#define RK_NOTIFY_MAX_REFS 64
#define RK_NOTIFY_WEBHOOK_ANSWER_MAX (64u * 1024u)
#define RK_NOTIFY_CONFIG_MAX_BYTES (1u << 20)
#define RK_NOTIFY_MAX_EMAILS 16
#define RK_NOTIFY_MAX_ORGS 10000

/* Federation (src/federation): partners per federation file, collection
 * mappings and named recipients per partner, the size of a token file,
 * objects per pushed envelope (one signature each; under
 * RK_MAX_OBJECTS_PER_ENVELOPE), tombstones sent per request round, and
 * the back-off ceiling after a failed round. */
#define RK_MAX_FED_PARTNERS 64
#define RK_MAX_FED_COLLECTIONS 64
#define RK_MAX_FED_RECIPIENTS 256
#define RK_MAX_TOKEN_FILE 4096
#define RK_FED_PAGE 1000
#define RK_FED_TOMBSTONE_PAGE 500
#define RK_FED_BACKOFF_MAX_SECONDS 600

#endif
