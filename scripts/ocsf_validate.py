"""Validates patchhub's OCSF events with an independent OCSF implementation.

The JSON Schema of each OCSF class comes from the `ocsf-json-schema` package (MIT, bundles the
OCSF schema releases and generates draft 2020-12 schemas per class); `jsonschema` validates.
Used by scripts/check-ocsf:

  ocsf_validate.py VERSION self-check
      the validator must reject broken events (no class_uid, class_uid of the wrong type,
      an activity_id outside the class's enum, an unknown attribute) and accept a good one.
  ocsf_validate.py VERSION files EVENT.json...
      every file is one event; all must be valid.
  ocsf_validate.py VERSION compare ASFF.jsonl OCSF.jsonl
      one event per ASFF finding (same count, same ids: finding_info.uid = Id), every event
      valid, and of class 2002 or 2003.
"""

import json
import sys
from collections import Counter

from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

CLASSES = (2002, 2003)


class Validators:
    def __init__(self, version):
        self.version = version
        self.schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=version))
        self.cache = {}

    def errors(self, event):
        """The schema errors of one event, as short strings (empty: valid)."""
        uid = event.get("class_uid") if isinstance(event, dict) else None
        if not isinstance(uid, int) or uid not in CLASSES:
            return [f"class_uid {uid!r} is not one of {CLASSES}"]
        profiles = tuple(sorted(event.get("metadata", {}).get("profiles", [])))
        key = (uid, profiles)
        if key not in self.cache:
            name = self.schema.lookup_class_name_from_uid(class_uid=uid)
            js = self.schema.get_class_schema(class_name=name, profiles=list(profiles))
            Draft202012Validator.check_schema(js)
            self.cache[key] = Draft202012Validator(js)
        out = []
        for e in self.cache[key].iter_errors(event):
            where = "/".join(str(p) for p in e.absolute_path) or "(event)"
            out.append(f"{where}: {e.message[:200]}")
        return out


def fail(msg):
    print(f"check-ocsf: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def self_check(v, good):
    """The validator accepts `good` and rejects each broken copy of it."""
    errs = v.errors(good)
    if errs:
        fail(f"self-check: the good event is rejected: {errs[:3]}")
    broken = {
        "without class_uid": lambda e: e.pop("class_uid"),
        "class_uid as a string": lambda e: e.__setitem__("class_uid", str(e["class_uid"])),
        "without finding_info": lambda e: e.pop("finding_info"),
        "activity_id 7": lambda e: e.__setitem__("activity_id", 7),
        "time as text": lambda e: e.__setitem__("time", "yesterday"),
        "an attribute OCSF does not define": lambda e: e.__setitem__("patchhub_extra", 1),
    }
    rejected = 0
    for what, breakit in broken.items():
        e = json.loads(json.dumps(good))
        breakit(e)
        if not v.errors(e):
            fail(f"self-check: an event {what} was accepted")
        rejected += 1
    return rejected


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    version, mode, args = argv[0], argv[1], argv[2:]
    v = Validators(version)
    if mode == "self-check":
        good = {
            "category_uid": 2,
            "class_uid": 2003,
            "activity_id": 1,
            "type_uid": 200301,
            "severity_id": 3,
            "time": 1709287200000,
            "metadata": {
                "version": version,
                "product": {"name": "patchhub", "vendor_name": "patchhub"},
                "profiles": ["cloud"],
            },
            "finding_info": {"uid": "x", "title": "t"},
            "cloud": {"provider": "AWS"},
            "compliance": {"standards": ["s"], "status_id": 3},
        }
        n = self_check(v, good)
        print(f"check-ocsf: self-check: a valid event passes, {n} broken ones are rejected (OCSF {version})")
        return
    if mode == "files":
        bad = 0
        for path in args:
            with open(path, encoding="utf-8") as f:
                e = json.load(f)
            errs = v.errors(e)
            if errs:
                bad += 1
                print(f"{path}: {errs[:5]}", file=sys.stderr)
        if bad:
            fail(f"{bad} of {len(args)} event files are not valid OCSF {version}")
        print(f"check-ocsf: {len(args)} golden events valid against OCSF {version}")
        return
    if mode == "compare":
        asff, ocsf = read_jsonl(args[0]), read_jsonl(args[1])
        if not asff:
            fail("the ASFF dry run printed no finding")
        if len(asff) != len(ocsf):
            fail(f"{len(ocsf)} OCSF events for {len(asff)} ASFF findings")
        ids_a = Counter(f["Id"] for f in asff)
        ids_o = Counter(e.get("finding_info", {}).get("uid") for e in ocsf)
        if ids_a != ids_o:
            only_a = list((ids_a - ids_o).elements())[:5]
            only_o = list((ids_o - ids_a).elements())[:5]
            fail(f"ids differ: only ASFF {only_a}, only OCSF {only_o}")
        bad = 0
        classes = Counter()
        for e in ocsf:
            classes[e.get("class_uid")] += 1
            if e.get("metadata", {}).get("version") != version:
                bad += 1
                print(f"{e['finding_info']['uid']}: metadata.version is not {version}", file=sys.stderr)
                continue
            errs = v.errors(e)
            if errs:
                bad += 1
                if bad <= 5:
                    print(f"{e['finding_info']['uid']}: {errs[:5]}", file=sys.stderr)
        if bad:
            fail(f"{bad} of {len(ocsf)} events are not valid OCSF {version}")
        summary = ", ".join(f"{n} of class {c}" for c, n in sorted(classes.items()))
        print(f"check-ocsf: {len(ocsf)} events for {len(asff)} ASFF findings, same ids, all valid OCSF {version} ({summary})")
        return
    fail(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
