/*
 * stix_sdo.c: the per-type rules of STIX 2.1 domain objects (section 4),
 * relationship objects (section 5) and the meta objects language-content
 * (7.1) and extension-definition (7.3); marking-definition (7.2) lives in
 * stix_marking.c with the TLP tables.
 *
 * Each function runs after the common properties and the required list of
 * its table row (stix_types.def) have passed, so it may assume required
 * properties are present; it checks value types, reference targets,
 * orderings and co-constraints. Open vocabularies only warn (section 10:
 * producers may use other values); closed enumerations fail.
 */
#include <string.h>

#include "stix_int.h"

#define TRY(x)                          \
	do {                            \
		rk_err e_ = (x);        \
		if (e_ != RK_OK)        \
			return e_;      \
	} while (0)

/* Reference targets that are never SDOs: what sighting_of_ref,
 * source_ref/target_ref must not point at. */
#define STIX_NOT_SDO                                                        \
	STIX_TYPES("relationship", "sighting", "bundle", "marking-definition", \
		   "language-content", "extension-definition")

/* ---------------------------------------------------------------- vocabs */
/* Section 10: the open vocabularies worth a warning when a value strays. */

static const char *const stix_ov_attack_motivation[] = {
	"accidental", "coercion", "dominance", "ideology", "notoriety",
	"organizational-gain", "personal-gain", "personal-satisfaction",
	"revenge", "unpredictable", NULL,
};
static const char *const stix_ov_resource_level[] = {
	"individual", "club", "contest", "team", "organization", "government",
	NULL,
};
static const char *const stix_ov_identity_class[] = {
	"individual", "group", "system", "organization", "class", "unknown",
	NULL,
};
static const char *const stix_ov_indicator_type[] = {
	"anomalous-activity", "anonymization", "benign", "compromised",
	"malicious-activity", "attribution", "unknown", NULL,
};
static const char *const stix_ov_pattern_type[] = {
	"stix", "pcre", "sigma", "snort", "suricata", "yara", NULL,
};
static const char *const stix_ov_infrastructure_type[] = {
	"amplification", "anonymization", "botnet", "command-and-control",
	"control-system", "exfiltration", "firewall", "hosting-malware",
	"hosting-target-lists", "phishing", "reconnaissance", "routers-switches",
	"staging", "workstation", "unknown", NULL,
};
static const char *const stix_ov_malware_type[] = {
	"adware", "backdoor", "bot", "bootkit", "ddos", "downloader", "dropper",
	"exploit-kit", "keylogger", "ransomware", "remote-access-trojan",
	"resource-exploitation", "rogue-security-software", "rootkit",
	"screen-capture", "spyware", "trojan", "unknown", "virus", "webshell",
	"wiper", "worm", NULL,
};
static const char *const stix_ov_malware_result[] = {
	"malicious", "suspicious", "benign", "unknown", NULL,
};
static const char *const stix_ov_report_type[] = {
	"attack-pattern", "campaign", "identity", "indicator", "intrusion-set",
	"malware", "observed-data", "threat-actor", "threat-report", "tool",
	"vulnerability", NULL,
};
static const char *const stix_ov_threat_actor_type[] = {
	"activist", "competitor", "crime-syndicate", "criminal", "hacker",
	"insider-accidental", "insider-disgruntled", "nation-state",
	"sensationalist", "spy", "terrorist", "unknown", NULL,
};
static const char *const stix_ov_threat_actor_role[] = {
	"agent", "director", "independent", "infrastructure-architect",
	"infrastructure-operator", "malware-author", "sponsor", NULL,
};
static const char *const stix_ov_sophistication[] = {
	"none", "minimal", "intermediate", "advanced", "expert", "innovator",
	"strategic", NULL,
};
static const char *const stix_ov_tool_type[] = {
	"denial-of-service", "exploitation", "information-gathering",
	"network-capture", "credential-exploitation", "remote-access",
	"vulnerability-scanning", "unknown", NULL,
};
static const char *const stix_ov_grouping_context[] = {
	"suspicious-activity", "malware-analysis", "unspecified", NULL,
};

/* Section 4.14.1 (opinion-enum): closed. */
static const char *const stix_opinion_enum[] = {
	"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree",
	NULL,
};
/* Section 7.3 (extension-type-enum): closed. */
static const char *const stix_ext_type_enum[] = {
	"new-sdo", "new-sco", "new-sro", "property-extension",
	"toplevel-property-extension", NULL,
};

/* ---------------------------------------------------------------- shared */

rk_err
stix_check_named(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "name", true, NULL));
	return stix_p_string(v, obj, "description", false, NULL);
}

static rk_err
stix_seen(stix_vctx *v, const json_t *obj)
{
	return stix_p_time_order(v, obj, "first_seen", "last_seen", false);
}

/* ---------------------------------------------------------------- SDOs */

rk_err
stix_check_attack_pattern(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_strings(v, obj, "aliases", false));
	return stix_p_kill_chain(v, obj, "kill_chain_phases");
}

rk_err
stix_check_campaign(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_p_string(v, obj, "objective", false, NULL));
	/* Section 4.2: last_seen MUST be >= first_seen. */
	return stix_seen(v, obj);
}

rk_err
stix_check_grouping(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "name", false, NULL));
	TRY(stix_p_string(v, obj, "description", false, NULL));
	TRY(stix_p_vocab(v, obj, "context", true, false,
			 stix_ov_grouping_context));
	return stix_p_refs(v, obj, "object_refs", true, NULL);
}

rk_err
stix_check_identity(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_strings(v, obj, "roles", false));
	TRY(stix_p_vocab(v, obj, "identity_class", false, false,
			 stix_ov_identity_class));
	TRY(stix_p_strings(v, obj, "sectors", false));
	return stix_p_string(v, obj, "contact_information", false, NULL);
}

rk_err
stix_check_incident(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	return stix_p_kill_chain(v, obj, "kill_chain_phases");
}

rk_err
stix_check_indicator(stix_vctx *v, const json_t *obj)
{
	const char *pattern = NULL;
	TRY(stix_p_string(v, obj, "name", false, NULL));
	TRY(stix_p_string(v, obj, "description", false, NULL));
	TRY(stix_p_vocab(v, obj, "indicator_types", false, true,
			 stix_ov_indicator_type));
	TRY(stix_p_string(v, obj, "pattern", true, &pattern));
	if (pattern[0] == '\0')
		return stix_fail_key(v, "pattern", "must not be empty");
	TRY(stix_p_vocab(v, obj, "pattern_type", true, false,
			 stix_ov_pattern_type));
	TRY(stix_p_string(v, obj, "pattern_version", false, NULL));
	TRY(stix_p_time(v, obj, "valid_from", true, 0, NULL, NULL));
	/* Section 4.7: valid_until MUST be greater than valid_from. */
	TRY(stix_p_time_order(v, obj, "valid_from", "valid_until", true));
	return stix_p_kill_chain(v, obj, "kill_chain_phases");
}

rk_err
stix_check_infrastructure(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_vocab(v, obj, "infrastructure_types", false, true,
			 stix_ov_infrastructure_type));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_p_kill_chain(v, obj, "kill_chain_phases"));
	/* Section 4.8: last_seen MUST be >= first_seen. */
	return stix_seen(v, obj);
}

rk_err
stix_check_intrusion_set(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_p_strings(v, obj, "goals", false));
	TRY(stix_p_vocab(v, obj, "resource_level", false, false,
			 stix_ov_resource_level));
	TRY(stix_p_vocab(v, obj, "primary_motivation", false, false,
			 stix_ov_attack_motivation));
	TRY(stix_p_vocab(v, obj, "secondary_motivations", false, true,
			 stix_ov_attack_motivation));
	return stix_seen(v, obj);
}

rk_err
stix_check_location(stix_vctx *v, const json_t *obj)
{
	const json_t *lat = json_object_get(obj, "latitude");
	const json_t *lon = json_object_get(obj, "longitude");
	TRY(stix_p_string(v, obj, "name", false, NULL));
	TRY(stix_p_string(v, obj, "description", false, NULL));
	TRY(stix_p_number(v, obj, "latitude", false, -90.0, 90.0));
	TRY(stix_p_number(v, obj, "longitude", false, -180.0, 180.0));
	TRY(stix_p_number(v, obj, "precision", false, 0.0, 1e300));
	/* Section 4.10: latitude and longitude come together; precision
	 * needs both; at least one of region, country, latitude/longitude. */
	if (lat != NULL && lon == NULL)
		return stix_fail_key(v, "longitude",
				     "required when latitude is present");
	if (lon != NULL && lat == NULL)
		return stix_fail_key(v, "latitude",
				     "required when longitude is present");
	if (json_object_get(obj, "precision") != NULL && lat == NULL)
		return stix_fail_key(v, "latitude",
				     "required when precision is present");
	if (lat == NULL && json_object_get(obj, "region") == NULL &&
	    json_object_get(obj, "country") == NULL)
		return stix_fail(v, "a location needs region, country, or "
				    "latitude and longitude");
	static const char *const strs[] = {
		"region", "country", "administrative_area", "city",
		"street_address", "postal_code", NULL,
	};
	for (const char *const *s = strs; *s != NULL; s++)
		TRY(stix_p_string(v, obj, *s, false, NULL));
	return RK_OK;
}

rk_err
stix_check_malware(stix_vctx *v, const json_t *obj)
{
	bool fam = false;
	TRY(stix_p_bool(v, obj, "is_family", true, &fam));
	/* Section 4.11: name is required when is_family is true. */
	TRY(stix_p_string(v, obj, "name", fam, NULL));
	TRY(stix_p_string(v, obj, "description", false, NULL));
	TRY(stix_p_vocab(v, obj, "malware_types", false, true,
			 stix_ov_malware_type));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_p_kill_chain(v, obj, "kill_chain_phases"));
	TRY(stix_seen(v, obj));
	TRY(stix_p_refs(v, obj, "operating_system_refs", false,
			STIX_TYPES("software")));
	TRY(stix_p_strings(v, obj, "architecture_execution_envs", false));
	TRY(stix_p_strings(v, obj, "implementation_languages", false));
	TRY(stix_p_strings(v, obj, "capabilities", false));
	return stix_p_refs(v, obj, "sample_refs", false,
			   STIX_TYPES("file", "artifact"));
}

rk_err
stix_check_malware_analysis(stix_vctx *v, const json_t *obj)
{
	static const char *const strs[] = {
		"product", "version", "configuration_version",
		"analysis_engine_version", "analysis_definition_version",
		"result_name", NULL,
	};
	for (const char *const *s = strs; *s != NULL; s++)
		TRY(stix_p_string(v, obj, *s, false, NULL));
	TRY(stix_p_ref(v, obj, "host_vm_ref", false, STIX_TYPES("software")));
	TRY(stix_p_ref(v, obj, "operating_system_ref", false,
		       STIX_TYPES("software")));
	TRY(stix_p_refs(v, obj, "installed_software_refs", false,
			STIX_TYPES("software")));
	TRY(stix_p_strings(v, obj, "modules", false));
	TRY(stix_p_time(v, obj, "submitted", false, 0, NULL, NULL));
	TRY(stix_p_time_order(v, obj, "analysis_started", "analysis_ended",
			      false));
	TRY(stix_p_vocab(v, obj, "result", false, false,
			 stix_ov_malware_result));
	TRY(stix_p_refs(v, obj, "analysis_sco_refs", false, NULL));
	TRY(stix_p_ref(v, obj, "sample_ref", false,
		       STIX_TYPES("file", "network-traffic", "artifact")));
	/* Section 4.12: one of result or analysis_sco_refs MUST be present. */
	if (json_object_get(obj, "result") == NULL &&
	    json_object_get(obj, "analysis_sco_refs") == NULL)
		return stix_fail(v, "a malware-analysis needs result or "
				    "analysis_sco_refs");
	return RK_OK;
}

rk_err
stix_check_note(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "abstract", false, NULL));
	TRY(stix_p_string(v, obj, "content", true, NULL));
	TRY(stix_p_strings(v, obj, "authors", false));
	return stix_p_refs(v, obj, "object_refs", true, NULL);
}

rk_err
stix_check_observed_data(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_time(v, obj, "first_observed", true, 0, NULL, NULL));
	TRY(stix_p_time(v, obj, "last_observed", true, 0, NULL, NULL));
	TRY(stix_p_time_order(v, obj, "first_observed", "last_observed",
			      false));
	TRY(stix_p_int(v, obj, "number_observed", true, 1, 999999999));
	/* Section 4.13: exactly one of objects (deprecated) and
	 * object_refs. */
	const json_t *objects = json_object_get(obj, "objects");
	const json_t *refs = json_object_get(obj, "object_refs");
	if ((objects == NULL) == (refs == NULL))
		return stix_fail(v, "an observed-data needs exactly one of "
				    "object_refs and objects");
	if (refs != NULL)
		return stix_p_refs(v, obj, "object_refs", true, NULL);
	TRY(stix_p_dict(v, obj, "objects", true));
	stix_warn(v, "objects", "deprecated: use object_refs");
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)objects, k, val)
	{
		if (!json_is_object(val) ||
		    !json_is_string(json_object_get(val, "type"))) {
			size_t m = stix_path_key(v, "objects");
			rk_err e = stix_fail_key(v, k, "must be a cyber-observable "
						       "object with a type");
			stix_path_pop(v, m);
			return e;
		}
	}
	return RK_OK;
}

rk_err
stix_check_opinion(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "explanation", false, NULL));
	TRY(stix_p_strings(v, obj, "authors", false));
	TRY(stix_p_enum(v, obj, "opinion", true, stix_opinion_enum));
	return stix_p_refs(v, obj, "object_refs", true, NULL);
}

rk_err
stix_check_report(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_vocab(v, obj, "report_types", false, true,
			 stix_ov_report_type));
	TRY(stix_p_time(v, obj, "published", true, 0, NULL, NULL));
	return stix_p_refs(v, obj, "object_refs", true, NULL);
}

rk_err
stix_check_threat_actor(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_vocab(v, obj, "threat_actor_types", false, true,
			 stix_ov_threat_actor_type));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_seen(v, obj));
	TRY(stix_p_vocab(v, obj, "roles", false, true,
			 stix_ov_threat_actor_role));
	TRY(stix_p_strings(v, obj, "goals", false));
	TRY(stix_p_vocab(v, obj, "sophistication", false, false,
			 stix_ov_sophistication));
	TRY(stix_p_vocab(v, obj, "resource_level", false, false,
			 stix_ov_resource_level));
	TRY(stix_p_vocab(v, obj, "primary_motivation", false, false,
			 stix_ov_attack_motivation));
	TRY(stix_p_vocab(v, obj, "secondary_motivations", false, true,
			 stix_ov_attack_motivation));
	return stix_p_vocab(v, obj, "personal_motivations", false, true,
			    stix_ov_attack_motivation);
}

rk_err
stix_check_tool(stix_vctx *v, const json_t *obj)
{
	TRY(stix_check_named(v, obj));
	TRY(stix_p_vocab(v, obj, "tool_types", false, true, stix_ov_tool_type));
	TRY(stix_p_strings(v, obj, "aliases", false));
	TRY(stix_p_kill_chain(v, obj, "kill_chain_phases"));
	return stix_p_string(v, obj, "tool_version", false, NULL);
}

/* ---------------------------------------------------------------- SROs */

rk_err
stix_check_relationship(stix_vctx *v, const json_t *obj)
{
	const char *rt = NULL;
	TRY(stix_p_string(v, obj, "relationship_type", true, &rt));
	/* Section 5.1: a-z, 0-9 and '-' only. */
	if (rt[0] == '\0' || strspn(rt, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
				     strlen(rt))
		return stix_fail_key(v, "relationship_type",
				     "must use only a-z, 0-9 and -");
	TRY(stix_p_string(v, obj, "description", false, NULL));
	TRY(stix_p_ref_not(v, obj, "source_ref", true, STIX_NOT_SDO));
	TRY(stix_p_ref_not(v, obj, "target_ref", true, STIX_NOT_SDO));
	/* Section 5.1: stop_time MUST be later than start_time. */
	return stix_p_time_order(v, obj, "start_time", "stop_time", true);
}

rk_err
stix_check_sighting(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_string(v, obj, "description", false, NULL));
	/* Section 5.2: last_seen MUST be >= first_seen. */
	TRY(stix_p_time_order(v, obj, "first_seen", "last_seen", false));
	TRY(stix_p_int(v, obj, "count", false, 0, 999999999));
	TRY(stix_p_ref_not(v, obj, "sighting_of_ref", true, STIX_NOT_SDO));
	TRY(stix_p_refs(v, obj, "observed_data_refs", false,
			STIX_TYPES("observed-data")));
	TRY(stix_p_refs(v, obj, "where_sighted_refs", false,
			STIX_TYPES("identity", "location")));
	return stix_p_bool(v, obj, "summary", false, NULL);
}

/* ---------------------------------------------------------------- meta */

rk_err
stix_check_language_content(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_ref_not(v, obj, "object_ref", true,
			   STIX_TYPES("bundle", "language-content")));
	TRY(stix_p_time(v, obj, "object_modified", false, 3, NULL, NULL));
	/* Section 7.1: contents maps language tags to dictionaries of
	 * translated property values. */
	TRY(stix_p_dict(v, obj, "contents", true));
	const json_t *c = json_object_get(obj, "contents");
	const char *k;
	const json_t *val;
	json_object_foreach((json_t *)c, k, val)
	{
		if (!json_is_object(val) || json_object_size(val) == 0) {
			size_t m = stix_path_key(v, "contents");
			rk_err e = stix_fail_key(v, k, "must be a non-empty "
						       "dictionary of translated "
						       "properties");
			stix_path_pop(v, m);
			return e;
		}
	}
	return RK_OK;
}

rk_err
stix_check_extension_definition(stix_vctx *v, const json_t *obj)
{
	TRY(stix_p_ref(v, obj, "created_by_ref", true, STIX_TYPES("identity")));
	TRY(stix_check_named(v, obj));
	TRY(stix_p_string(v, obj, "schema", true, NULL));
	TRY(stix_p_string(v, obj, "version", true, NULL));
	TRY(stix_p_strings(v, obj, "extension_types", true));
	const json_t *types = json_object_get(obj, "extension_types");
	bool toplevel = false;
	size_t i;
	const json_t *it;
	json_array_foreach(types, i, it)
	{
		const char *t = json_string_value(it);
		if (!stix_name_in(t, stix_ext_type_enum) || t[0] == '\0') {
			size_t m = stix_path_key(v, "extension_types");
			size_t m2 = stix_path_index(v, i);
			rk_err e = stix_fail(v, "\"%.64s\" is not an allowed "
						"value",
					     t);
			stix_path_pop(v, m2);
			stix_path_pop(v, m);
			return e;
		}
		toplevel |= strcmp(t, "toplevel-property-extension") == 0;
	}
	/* Section 7.3: extension_properties only with
	 * toplevel-property-extension. */
	TRY(stix_p_strings(v, obj, "extension_properties", false));
	if (!toplevel && json_object_get(obj, "extension_properties") != NULL)
		return stix_fail_key(v, "extension_properties",
				     "only allowed with "
				     "toplevel-property-extension");
	return RK_OK;
}
