#!/usr/bin/env python3
"""The plan JSON Schema against an independent validator (python3-jsonschema, draft 2020-12).

Usage: validate_plans.py ROLLBACK_BINARY SOURCE_DIR

- `rollback schema` is a valid draft 2020-12 schema and equals docs/plan.schema.json
  (regenerate with `rollback schema > docs/plan.schema.json`);
- every shipped plan and every good fixture validates;
- every bad fixture with an unknown action or parameter (and the other mistakes a schema
  can see) fails;
- every shipped plan names the schema in a yaml-language-server modeline.
"""
import glob
import json
import os
import subprocess
import sys

import jsonschema
import yaml

binary, source = sys.argv[1], sys.argv[2]
failures = []

generated = json.loads(subprocess.run([binary, "schema"], check=True, capture_output=True, text=True).stdout)
jsonschema.Draft202012Validator.check_schema(generated)
with open(os.path.join(source, "docs", "plan.schema.json")) as f:
    committed = json.load(f)
if committed != generated:
    failures.append("docs/plan.schema.json is stale: run `rollback schema > docs/plan.schema.json`")
validator = jsonschema.Draft202012Validator(generated)


def errors_of(path):
    with open(path) as f:
        return list(validator.iter_errors(yaml.safe_load(f)))


good = sorted(glob.glob(os.path.join(source, "plans", "*.yaml")))
good += sorted(glob.glob(os.path.join(source, "tests", "fixtures", "plans", "good", "*.yaml")))
for path in good:
    errors = errors_of(path)
    if errors:
        failures.append(f"{path}: {errors[0].message} at /{'/'.join(map(str, errors[0].absolute_path))}")
    else:
        print(f"valid:   {os.path.relpath(path, source)}")

# Mistakes of structure, names and types, which an editor should underline as it is typed.
must_fail = ["03-unknown-top-key", "04-unknown-step-key", "05-unknown-retry-key", "06-unknown-target-key",
             "07-unknown-report-key", "08-steps-not-list", "09-vars-not-map", "10-missing-step-id",
             "11-missing-action", "13-unknown-action", "24-bad-version", "25-bad-kind", "26-bad-phase",
             "27-bad-on-failure", "33-unknown-param", "34-missing-param", "37-param-wrong-type",
             "40-no-steps", "43-unknown-param-did-you-mean", "44-unknown-secret-key", "50-parallel-group-in-group",
             "51-parallel-group-empty", "56-parallel-not-a-list", "57-parallel-group-takes-no-on-failure",
             "61-coolify-backup-target-with"]
bad_dir = os.path.join(source, "tests", "fixtures", "plans", "bad")
for name in must_fail:
    path = os.path.join(bad_dir, name + ".yaml")
    errors = errors_of(path)
    if not errors:
        failures.append(f"{path}: the schema accepts it")
    else:
        print(f"refused: {name}.yaml: {errors[0].message[:100]}")

for path in sorted(glob.glob(os.path.join(source, "plans", "*.yaml"))):
    with open(path) as f:
        if "# yaml-language-server: $schema=../docs/plan.schema.json" not in f.readline():
            failures.append(f"{path}: the first line is not the yaml-language-server modeline")

for failure in failures:
    print("FAIL:", failure, file=sys.stderr)
sys.exit(1 if failures else 0)
