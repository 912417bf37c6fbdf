#!/usr/bin/env bash
# The procurement scenario: the same "purchase requisition approved" events
# for three tenants, each with its own ERP, mapping, params and tables.
#
#   acme_sap         SAP S/4HANA purchase order (OData v2 JSON deep insert)
#   globex_netsuite  NetSuite PurchaseOrder add (SOAP 1.1 XML message)
#   initech_legacy   staging CSV for a legacy system (Windows-1252, ;)
#
# Usage: bash examples/procurement/run.sh [OUT_DIR]   (default: a temporary folder)
# MAPC overrides the command that runs mapc (default: cargo run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
examples="$(dirname "$here")"
out="${1:-$(mktemp -d)}"
read -r -a mapc <<< "${MAPC:-cargo run --quiet -p mapc --}"

run_tenant() {
  local tenant="$1" mapping="$2"
  shift 2
  echo "== $tenant: $(basename "$mapping")"
  "${mapc[@]}" run "$examples/$mapping" \
    --params "$here/tenants/$tenant/params.toml" \
    --tables "$here/tenants/$tenant/tables.toml" \
    --input "$here/requisitions.jsonl" \
    --output-dir "$out/$tenant" "$@"
}

run_tenant acme_sap requisition_to_sap_po/requisition_to_sap_po.map
run_tenant globex_netsuite requisition_to_netsuite/requisition_to_netsuite.map --soap-envelope 1.1
run_tenant initech_legacy requisition_to_csv/requisition_to_csv.map --name-template "PO_{event.number}.csv"

echo "== written to $out"
find "$out" -type f | sort
