/* Expected outputs of test_export_write.c over its fixture (refresh with
 * EXPORT_DUMP=DIR after a deliberate change, and read the diff). */
#define WANT_ZEEK \
	"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n" \
	"10.0.0.0/8\tIntel::SUBNET\trenkei\tindicator--00000000-0000-4000-8000-000000000001 Bad \"host\" A, one\n" \
	"198.51.100.7\tIntel::ADDR\trenkei\tindicator--00000000-0000-4000-8000-000000000001 Bad \"host\" A, one\n" \
	"2001:db8::1\tIntel::ADDR\trenkei\tindicator--00000000-0000-4000-8000-000000000001 Bad \"host\" A, one\n" \
	"evil.example\tIntel::DOMAIN\trenkei\tindicator--00000000-0000-4000-8000-000000000002 B\n" \
	"x.example\tIntel::DOMAIN\trenkei\tindicator--00000000-0000-4000-8000-000000000002 B\n" \
	"evil.example/a\?b=1\tIntel::URL\trenkei\tindicator--00000000-0000-4000-8000-000000000003\n" \
	"Mallory@evil.example\tIntel::EMAIL\trenkei\tindicator--00000000-0000-4000-8000-000000000004 mail\n" \
	"79054025255fb1a26e4bc422aef54eb4\tIntel::FILE_HASH\trenkei\tindicator--00000000-0000-4000-8000-000000000005 B\n" \
	"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\tIntel::FILE_HASH\trenkei\tindicator--00000000-0000-4000-8000-000000000005 B\n"
#define WANT_SURICATA_RULES \
	"# renkei export: load with the lists next to this file\n" \
	"alert ip any any -> any any (msg:\"renkei: listed IPv4 destination\"; ip.dst; dataset:isset,renkei-ipv4,type ipv4,load renkei-ipv4.lst; classtype:bad-unknown; sid:8710001; rev:1;)\n" \
	"alert ip any any -> any any (msg:\"renkei: listed IPv4 source\"; ip.src; dataset:isset,renkei-ipv4,type ipv4,load renkei-ipv4.lst; classtype:bad-unknown; sid:8710002; rev:1;)\n" \
	"alert ip any any -> any any (msg:\"renkei: listed IPv6 destination\"; ip.dst; dataset:isset,renkei-ip,type ip,load renkei-ip.lst; classtype:bad-unknown; sid:8710003; rev:1;)\n" \
	"alert ip any any -> any any (msg:\"renkei: listed IPv6 source\"; ip.src; dataset:isset,renkei-ip,type ip,load renkei-ip.lst; classtype:bad-unknown; sid:8710004; rev:1;)\n" \
	"alert dns any any -> any any (msg:\"renkei: DNS query for a listed domain\"; dns.query; dataset:isset,renkei-domain,type string,load renkei-domain.lst; classtype:bad-unknown; sid:8710005; rev:1;)\n" \
	"alert tls any any -> any any (msg:\"renkei: TLS SNI of a listed domain\"; tls.sni; dataset:isset,renkei-domain,type string,load renkei-domain.lst; classtype:bad-unknown; sid:8710006; rev:1;)\n" \
	"alert http any any -> any any (msg:\"renkei: HTTP host of a listed domain\"; http.host; dataset:isset,renkei-domain,type string,load renkei-domain.lst; classtype:bad-unknown; sid:8710007; rev:1;)\n" \
	"alert http any any -> any any (msg:\"renkei: file with a listed MD5\"; filemd5:renkei-md5.lst; classtype:bad-unknown; sid:8710008; rev:1;)\n" \
	"alert http any any -> any any (msg:\"renkei: file with a listed SHA-256\"; filesha256:renkei-sha256.lst; classtype:bad-unknown; sid:8710010; rev:1;)\n"
#define WANT_RPZ \
	"; renkei response-policy zone: every listed domain and its subdomains\n" \
	"; answer NXDOMAIN. Load it as any zone name (relative names).\n" \
	"$TTL 300\n" \
	"@ IN SOA localhost. hostmaster.localhost. 1767398400 3600 600 86400 300\n" \
	"@ IN NS localhost.\n" \
	"evil.example CNAME .\n" \
	"*.evil.example CNAME .\n" \
	"x.example CNAME .\n" \
	"*.x.example CNAME .\n"
#define WANT_NFT \
	"#!/usr/sbin/nft -f\n" \
	"table inet renkei {\n" \
	"\tset ipv4 {\n" \
	"\t\ttype ipv4_addr\n" \
	"\t\tflags interval\n" \
	"\t\tauto-merge\n" \
	"\t}\n" \
	"\tset ipv6 {\n" \
	"\t\ttype ipv6_addr\n" \
	"\t\tflags interval\n" \
	"\t\tauto-merge\n" \
	"\t}\n" \
	"}\n" \
	"flush set inet renkei ipv4\n" \
	"flush set inet renkei ipv6\n" \
	"add element inet renkei ipv4 {\n" \
	"\t10.0.0.0/8,\n" \
	"\t198.51.100.7\n" \
	"}\n" \
	"add element inet renkei ipv6 {\n" \
	"\t2001:db8::1\n" \
	"}\n"
#define WANT_PLAIN \
	"10.0.0.0/8\n" \
	"198.51.100.7\n" \
	"2001:db8::1\n" \
	"evil.example\n" \
	"x.example\n" \
	"http://evil.example/a\?b=1\n" \
	"Mallory@evil.example\n" \
	"79054025255fb1a26e4bc422aef54eb4\n" \
	"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\n"
#define WANT_CSV \
	"value,kind,indicator,name\r\n" \
	"10.0.0.0/8,ipv4,indicator--00000000-0000-4000-8000-000000000001,\"Bad \"\"host\"\" A, one\"\r\n" \
	"198.51.100.7,ipv4,indicator--00000000-0000-4000-8000-000000000001,\"Bad \"\"host\"\" A, one\"\r\n" \
	"2001:db8::1,ipv6,indicator--00000000-0000-4000-8000-000000000001,\"Bad \"\"host\"\" A, one\"\r\n" \
	"evil.example,domain,indicator--00000000-0000-4000-8000-000000000002,B\r\n" \
	"evil.example,domain,indicator--00000000-0000-4000-8000-000000000007,\r\n" \
	"x.example,domain,indicator--00000000-0000-4000-8000-000000000002,B\r\n" \
	"http://evil.example/a\?b=1,url,indicator--00000000-0000-4000-8000-000000000003,\r\n" \
	"Mallory@evil.example,email,indicator--00000000-0000-4000-8000-000000000004,mail\r\n" \
	"79054025255fb1a26e4bc422aef54eb4,md5,indicator--00000000-0000-4000-8000-000000000005,B\r\n" \
	"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f,sha256,indicator--00000000-0000-4000-8000-000000000005,B\r\n"
#define WANT_MISP \
	"{\n" \
	" \"Event\": {\n" \
	"  \"Attribute\": [\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000001 Bad \\\"host\\\"\\tA, one\",\n" \
	"    \"timestamp\": \"1767323045\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"ip-dst\",\n" \
	"    \"uuid\": \"5a15c26d-e3f4-50f2-ba9d-479a2b05a844\",\n" \
	"    \"value\": \"10.0.0.0/8\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000001 Bad \\\"host\\\"\\tA, one\",\n" \
	"    \"timestamp\": \"1767323045\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"ip-dst\",\n" \
	"    \"uuid\": \"90b6096a-a436-58fa-8915-520ad554bd69\",\n" \
	"    \"value\": \"198.51.100.7\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000001 Bad \\\"host\\\"\\tA, one\",\n" \
	"    \"timestamp\": \"1767323045\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"ip-dst\",\n" \
	"    \"uuid\": \"8ea2ca3e-8f28-5cbc-b1e9-17537bfdc57d\",\n" \
	"    \"value\": \"2001:db8::1\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000002 B\",\n" \
	"    \"timestamp\": \"1767398400\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"domain\",\n" \
	"    \"uuid\": \"1f36ec2c-f599-53fb-9a9d-f450be54f1a6\",\n" \
	"    \"value\": \"evil.example\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000007\",\n" \
	"    \"timestamp\": \"1767225600\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"domain\",\n" \
	"    \"uuid\": \"5963d5dc-1007-54a7-ad2b-041fa43da0c1\",\n" \
	"    \"value\": \"evil.example\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000002 B\",\n" \
	"    \"timestamp\": \"1767398400\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"domain\",\n" \
	"    \"uuid\": \"aa5e7236-3efb-5e9e-8d4a-c4db6a964c18\",\n" \
	"    \"value\": \"x.example\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Network activity\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000003\",\n" \
	"    \"timestamp\": \"1767225600\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"url\",\n" \
	"    \"uuid\": \"6a886bf8-aa49-527f-8dfd-275916d59a69\",\n" \
	"    \"value\": \"http://evil.example/a\?b=1\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Payload delivery\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000004 mail\",\n" \
	"    \"timestamp\": \"1767225600\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"email-src\",\n" \
	"    \"uuid\": \"dc3d9c38-c90e-5cf9-b5f9-da4f6c1b87a7\",\n" \
	"    \"value\": \"Mallory@evil.example\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Payload delivery\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000005 B\",\n" \
	"    \"timestamp\": \"1767225600\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"md5\",\n" \
	"    \"uuid\": \"be5de43e-aaee-5601-aa35-3c605525e2b3\",\n" \
	"    \"value\": \"79054025255fb1a26e4bc422aef54eb4\"\n" \
	"   },\n" \
	"   {\n" \
	"    \"category\": \"Payload delivery\",\n" \
	"    \"comment\": \"indicator--00000000-0000-4000-8000-000000000005 B\",\n" \
	"    \"timestamp\": \"1767225600\",\n" \
	"    \"to_ids\": true,\n" \
	"    \"type\": \"sha256\",\n" \
	"    \"uuid\": \"81a7f337-be46-5eb6-992c-bd799438e27d\",\n" \
	"    \"value\": \"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\"\n" \
	"   }\n" \
	"  ],\n" \
	"  \"analysis\": \"2\",\n" \
	"  \"date\": \"2026-01-03\",\n" \
	"  \"distribution\": \"0\",\n" \
	"  \"info\": \"renkei export bank-a\",\n" \
	"  \"published\": false,\n" \
	"  \"threat_level_id\": \"4\",\n" \
	"  \"timestamp\": \"1767398400\",\n" \
	"  \"uuid\": \"93a5af66-7167-5e90-aa06-790cbdba21f7\"\n" \
	" }\n" \
	"}\n"
#define WANT_STIX \
	"{\n" \
	" \"id\": \"bundle--d5148209-377f-53c1-926a-13c0ce3862e2\",\n" \
	" \"objects\": [\n" \
	"  {\n" \
	"   \"created\": \"2026-01-02T03:04:05Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000001\",\n" \
	"   \"modified\": \"2026-01-02T03:04:05Z\",\n" \
	"   \"name\": \"Bad \\\"host\\\"\\tA, one\",\n" \
	"   \"pattern\": \"[ipv4-addr:value = '198.51.100.7' OR ipv4-addr:value = '10.1.2.3/8' OR ipv6-addr:value = '2001:DB8::1' OR ipv4-addr:value = '300.1.1.1']\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  },\n" \
	"  {\n" \
	"   \"created\": \"2026-01-03T00:00:00Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000002\",\n" \
	"   \"modified\": \"2026-01-03T00:00:00Z\",\n" \
	"   \"name\": \"B\",\n" \
	"   \"pattern\": \"[domain-name:value IN ('Evil.Example.', 'bad domain.example', 'x.example')]\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  },\n" \
	"  {\n" \
	"   \"created\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000003\",\n" \
	"   \"modified\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"pattern\": \"[url:value = 'http://evil.example/a\?b=1' OR url:value = 'http://evil.example/\\ttab']\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  },\n" \
	"  {\n" \
	"   \"created\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000004\",\n" \
	"   \"modified\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"name\": \"mail\",\n" \
	"   \"pattern\": \"[email-addr:value = 'Mallory@Evil.Example']\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  },\n" \
	"  {\n" \
	"   \"created\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000005\",\n" \
	"   \"modified\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"name\": \"B\",\n" \
	"   \"pattern\": \"[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F' OR file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  },\n" \
	"  {\n" \
	"   \"created\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"id\": \"indicator--00000000-0000-4000-8000-000000000007\",\n" \
	"   \"modified\": \"2026-01-01T00:00:00Z\",\n" \
	"   \"pattern\": \"[domain-name:value = 'evil.example']\",\n" \
	"   \"pattern_type\": \"stix\",\n" \
	"   \"spec_version\": \"2.1\",\n" \
	"   \"type\": \"indicator\",\n" \
	"   \"valid_from\": \"2026-01-01T00:00:00Z\"\n" \
	"  }\n" \
	" ],\n" \
	" \"type\": \"bundle\"\n" \
	"}\n"
