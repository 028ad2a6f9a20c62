/*
 * dir_names.c: the directory's fixed vocabularies, each in one table:
 * roles, community tiers, and the industry sectors an organisation may
 * declare, plus the character rules for ids and user names.
 *
 * Sectors are the STIX 2.1 industry-sector-ov open vocabulary (STIX 2.1
 * section 10.12), because each organisation is published as a STIX identity
 * whose `sectors` property uses it. The vocabulary is open in STIX, but the
 * directory accepts only its values: a typo in a sector would otherwise
 * reach every partner as a new sector. The spec names the sub-sectors of
 * government and infrastructure without a prefix ("emergency-services",
 * "dams", "nuclear", "water"); the prefixed spellings people tend to write
 * are refused with a hint naming the spec value.
 */
#include <string.h>

#include "dir_int.h"

static const char *const role_names[DIR_ROLE_COUNT] = {
	[DIR_ROLE_ADMIN] = "admin",
	[DIR_ROLE_ANALYST] = "analyst",
	[DIR_ROLE_READER] = "reader",
	[DIR_ROLE_SENSOR] = "sensor",
	[DIR_ROLE_PARTNER] = "partner",
};

static const char *const tier_names[DIR_TIER_COUNT] = {
	[DIR_TIER_GOVERNMENT] = "government",
	[DIR_TIER_NATION] = "nation",
	[DIR_TIER_INTERNATIONAL] = "international",
};

/* STIX 2.1 section 10.12, industry-sector-ov, in the spec's order. */
static const char *const sectors[] = {
	"agriculture", "aerospace", "automotive", "chemical", "commercial",
	"communications", "construction", "defense", "education", "energy",
	"entertainment", "financial-services", "government",
	"emergency-services", "government-local", "government-national",
	"government-public-services", "government-regional", "healthcare",
	"hospitality-leisure", "infrastructure", "dams", "nuclear", "water",
	"insurance", "manufacturing", "mining", "non-profit", "pharmaceuticals",
	"retail", "technology", "telecommunications", "transportation",
	"utilities",
};

static const struct {
	const char *written;
	const char *meant;
} sector_hints[] = {
	{"government-emergency-services", "emergency-services"},
	{"infrastructure-dams", "dams"},
	{"infrastructure-nuclear", "nuclear"},
	{"infrastructure-water", "water"},
};

const char *dir_role_name(dir_role role)
{
	if ((unsigned)role >= DIR_ROLE_COUNT)
		return "unknown";
	return role_names[role];
}

bool dir_role_parse(const char *s, dir_role *out)
{
	for (int i = 0; i < DIR_ROLE_COUNT; i++) {
		if (strcmp(s, role_names[i]) == 0) {
			*out = (dir_role)i;
			return true;
		}
	}
	return false;
}

const char *dir_tier_name(dir_tier tier)
{
	if ((unsigned)tier >= DIR_TIER_COUNT)
		return "unknown";
	return tier_names[tier];
}

bool dir_tier_parse(const char *s, dir_tier *out)
{
	for (int i = 0; i < DIR_TIER_COUNT; i++) {
		if (strcmp(s, tier_names[i]) == 0) {
			*out = (dir_tier)i;
			return true;
		}
	}
	return false;
}

bool dir_sector_known(const char *s)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(sectors); i++)
		if (strcmp(s, sectors[i]) == 0)
			return true;
	return false;
}

const char *dir_sector_hint(const char *s)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(sector_hints); i++)
		if (strcmp(s, sector_hints[i].written) == 0)
			return sector_hints[i].meant;
	return NULL;
}

const char *dir_sector_name(size_t i)
{
	return i < RK_ARRAY_LEN(sectors) ? sectors[i] : NULL;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool dir_slug_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DIR_MAX_SLUG || !is_lower_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool dir_user_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DIR_MAX_SLUG || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr("._@-", s[i]))
			return false;
	return true;
}

json_t *dir_roles_json(unsigned mask)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	for (int i = 0; i < DIR_ROLE_COUNT; i++) {
		if ((mask & (1u << i)) &&
		    json_array_append_new(a, json_string(role_names[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}
