#!/usr/bin/env python3
"""count_feeds.py: the expected counts of test_feeds_shared.c, derived
without renkei's code.

Runs over $RK_SHARED/data (default ../shared/data) and prints one C table
row per sample: what a feed import must read, import and reject. Values
are classified with Python's ipaddress module and regular expressions,
CSV records with the csv module (RFC 4180), MISP attributes with json,
STIX indicators by counting objects of type "indicator". The rows were
pasted into test_feeds_shared.c after checking a few files by hand (see
the comments there); rerun this script when the shared data changes.
"""
import csv, glob, io, ipaddress, json, os, re, sys

DATA = os.path.join(os.environ.get("RK_SHARED", "../shared"), "data")
HEX = re.compile(r"^[0-9a-fA-F]+$")
LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+")

def domain(v):
    if v.endswith("."):
        v = v[:-1]
    labels = v.split(".")
    if len(v) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    if not all(LABEL.match(l) for l in labels):
        return None
    return v.lower()

def classify(v):
    """(type, normalised value) or None."""
    if ":" in v and "://" not in v:
        try:
            n = ipaddress.IPv6Network(v, strict=False)
            return ("ipv6", str(n.network_address) if n.prefixlen == 128 else str(n))
        except ValueError:
            return None
    if re.match(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$", v):
        try:
            n = ipaddress.IPv4Network(v, strict=False)
            return ("ipv4", str(n.network_address) if n.prefixlen == 32 else str(n))
        except ValueError:
            return None
    if HEX.match(v) and len(v) in (32, 40, 64, 128):
        return ({32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}[len(v)], v.lower())
    if "://" in v:
        if URL.match(v) and not any(ord(c) <= 32 or ord(c) == 127 for c in v):
            return ("url", v)
        return None
    if "@" in v:
        local, _, dom = v.partition("@")
        if local and len(local) <= 64 and not re.search(r'[\s"<>@]', local) and domain(dom):
            return ("email", local + "@" + domain(dom))
        return None
    d = domain(v)
    return ("domain", d) if d else None

def plain(path):
    read = rejected = 0
    seen = set()
    with open(path, "rb") as f:
        for raw in f.read().split(b"\n"):
            line = raw.decode("utf-8", "replace").strip(" \t\r\v\f")
            if not line or line[0] in "#;":
                continue
            read += 1
            tok = re.split(r"[ \t\r\v\f]", line, 1)[0]
            c = classify(tok)
            if c is None:
                cut = re.split(r"[,;|#]", tok, 1)[0]
                c = classify(cut) if cut else None
            if c is None:
                rejected += 1
            else:
                seen.add(c)
    return read, len(seen), rejected

def csvfile(path, delim, value, header):
    read = rejected = 0
    seen = set()
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f, delimiter=delim, skipinitialspace=True))
    col = None
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if row[0].lstrip().startswith("#"):
            continue
        if header and col is None:
            names = [c.strip().lower() for c in row]
            col = names.index(value.lower()) if not value.isdigit() else int(value) - 1
            continue
        if col is None:
            col = int(value) - 1
        read += 1
        v = row[col].strip() if col < len(row) else ""
        c = classify(v) if v else None
        if c is None:
            rejected += 1
        else:
            seen.add(c)
    return read, len(seen), rejected

MISP_TYPES = {"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain", "hostname",
              "domain|ip", "hostname|port", "url", "uri", "link", "email", "email-src",
              "email-dst", "md5", "sha1", "sha256", "sha512", "filename|md5",
              "filename|sha1", "filename|sha256", "filename|sha512"}

def misp_attrs(doc):
    if isinstance(doc, list):
        for x in doc:
            yield from misp_attrs(x)
    elif isinstance(doc, dict):
        if "Event" in doc:
            ev = doc["Event"]
            if isinstance(ev, dict):
                yield from event_attrs(ev)
        elif "response" in doc:
            yield from misp_attrs(doc["response"])
        elif "Attribute" in doc or "Object" in doc:
            yield from event_attrs(doc)

def event_attrs(ev):
    attrs = ev.get("Attribute") or []
    for a in attrs if isinstance(attrs, list) else []:
        if isinstance(a, dict):
            yield a
    objs = ev.get("Object") or []
    for o in objs if isinstance(objs, list) else []:
        attrs = o.get("Attribute") or [] if isinstance(o, dict) else []
        for a in attrs if isinstance(attrs, list) else []:
            if isinstance(a, dict):
                yield a

def truthy(v):
    return v is True or (isinstance(v, int) and not isinstance(v, bool) and v != 0) or \
        (isinstance(v, str) and v.lower() in ("1", "true"))

def misp(path):
    """(attributes, to_ids attributes of a type with a pattern, distinct of those)"""
    doc = json.load(open(path))
    n = ids = 0
    distinct = set()
    for a in misp_attrs(doc):
        n += 1
        if not isinstance(a.get("type"), str) or not isinstance(a.get("value"), str):
            continue
        if truthy(a.get("deleted")) or not truthy(a.get("to_ids")) or a.get("type") not in MISP_TYPES:
            continue
        ids += 1
        t, v = a["type"], a["value"]
        if t in ("ip-src", "ip-dst", "domain", "hostname", "url", "uri", "link",
                 "email", "email-src", "email-dst", "md5", "sha1", "sha256", "sha512"):
            c = classify(v)
            key = c if c else (t, v)
        elif t == "hostname|port":
            key = classify(v.rsplit("|", 1)[0])
        else:
            key = (t, v.lower() if "filename" not in t else v)
        distinct.add(key)
    return n, ids, len(distinct)

def stix(path):
    doc = json.load(open(path))
    objs = doc.get("objects", []) if isinstance(doc, dict) else doc
    return len(objs), sum(1 for o in objs if o.get("type") == "indicator")

if __name__ == "__main__":
    mode = sys.argv[1]
    for spec in sys.argv[2:]:
        parts = spec.split(":")
        path = os.path.join(DATA, parts[0])
        if mode == "plain":
            print(parts[0], *plain(path))
        elif mode == "csv":
            print(parts[0], *csvfile(path, parts[1] or ",", parts[2], parts[3] == "h"))
        elif mode == "misp":
            print(parts[0], *misp(path))
        elif mode == "stix":
            print(parts[0], *stix(path))
