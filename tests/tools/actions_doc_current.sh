#!/usr/bin/env bash
# docs/actions.md below its marker line must be what the registry says now (tests/tools/
# actions_doc.cpp), and every parameter must say what it does. Regenerate with
# scripts/actions-doc. Usage: actions_doc_current.sh ACTIONS_DOC_BINARY SOURCE_DIR
set -euo pipefail
generated=$("$1")
page="$2/docs/actions.md"
marker='<!-- Generated below from the action registry by scripts/actions-doc: do not edit by hand. -->'
grep -qxF "$marker" "$page" || { echo "FAIL: $page has no marker line: $marker" >&2; exit 1; }
committed=$(sed -n "/^<!-- Generated below/,\$p" "$page" | tail -n +2)
if [ "$(printf '%s\n' "$generated" | sed '/^$/d')" != "$(printf '%s\n' "$committed" | sed '/^$/d')" ]; then
  diff <(printf '%s\n' "$committed" | sed '/^$/d') <(printf '%s\n' "$generated" | sed '/^$/d') | head -20 >&2 || true
  echo "FAIL: docs/actions.md is stale: run scripts/actions-doc" >&2
  exit 1
fi
undocumented=$(printf '%s\n' "$generated" | grep -E '^\| `[a-z_]+` \|.*\|  \|$' || true)
if [ -n "$undocumented" ]; then
  echo "FAIL: parameters that do not say what they do:" >&2
  printf '%s\n' "$undocumented" >&2
  exit 1
fi
echo "docs/actions.md: $(printf '%s\n' "$generated" | grep -c '^## ') actions, $(printf '%s\n' "$generated" | grep -c '^| `') parameters, each described, current"
