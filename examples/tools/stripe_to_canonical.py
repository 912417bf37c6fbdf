#!/usr/bin/env python3
"""Derive canonical invoices (canonical.invoice.Invoice) from Stripe's
example API objects, for the golden cases of the invoice examples.

Reads `stripe-fixtures/fixtures3.json` under the ERP data folder
(MAPWRIGHT_SHARED_DATA, else ../shared/data/erp from the repository root)
and prints one canonical invoice per line (JSON Lines) on stdout.

The derivation is the platform side of an integration: Stripe bills the
tenant's customers, the platform turns each Stripe invoice into its
canonical invoice event. Stripe amounts are integers in the currency's
minor unit (cents), so they become decimals with two places; Unix
timestamps become dates in UTC; currency codes are upper-cased. Where the
example objects leave a value null that the canonical invoice needs, the
fallback is named below (the country of a customer without an address is
the Stripe account's country; a line without tax is `not_subject` at 0 %).

Usage: python3 examples/tools/stripe_to_canonical.py > events.jsonl
"""

import datetime
import json
import os
import pathlib
import sys
from decimal import Decimal


def data_dir() -> pathlib.Path:
    env = os.environ.get("MAPWRIGHT_SHARED_DATA")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "erp"


def minor_to_decimal(amount: int, currency: str) -> str:
    # Zero-decimal currencies (JPY, KRW, ...) are not in the examples; all
    # example amounts are in cents.
    return str((Decimal(amount) / Decimal(100)).quantize(Decimal("0.01")))


def day(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).date().isoformat()


def canonical_invoice(invoice: dict, customers: dict) -> dict:
    currency = invoice["currency"].upper()
    customer = customers.get(invoice["customer"], {})
    address = invoice.get("customer_address") or customer.get("address") or {}
    country = address.get("country") or invoice["account_country"]
    lines = []
    for line in invoice["lines"]["data"]:
        quantity = line.get("quantity") or 1
        net = minor_to_decimal(line["amount"], currency)
        price = (line.get("pricing") or {}).get("price_details") or {}
        lines.append(
            {
                "line_id": line["id"],
                "sku": price.get("price") or line["id"],
                "description": line.get("description") or "",
                "quantity": quantity,
                "uom": "EA",
                "unit_price": str((Decimal(net) / Decimal(quantity)).quantize(Decimal("0.0001"))),
                "net_amount": net,
                "tax": {"category": "not_subject", "rate": "0.00"},
            }
        )
    event = {
        "id": invoice["id"],
        "number": invoice.get("number") or invoice["id"][-16:],
        "issued_on": day(invoice["created"]),
        "currency": currency,
        "supplier": {
            "id": "platform-" + invoice["account_country"].lower(),
            "name": invoice.get("account_name") or "Platform account",
            "country": invoice["account_country"],
        },
        "customer": {
            "id": invoice["customer"],
            "name": invoice.get("customer_name") or customer.get("name") or invoice["customer"],
            "country": country,
        },
        "lines": lines,
    }
    if invoice.get("due_date"):
        event["due_on"] = day(invoice["due_date"])
    if invoice.get("customer_email") or customer.get("email"):
        event["customer"]["contact"] = {"email": invoice.get("customer_email") or customer.get("email")}
    if invoice.get("description"):
        event["notes"] = invoice["description"]
    return event


def main() -> int:
    path = data_dir() / "stripe-fixtures" / "fixtures3.json"
    try:
        resources = json.loads(path.read_text())["resources"]
    except OSError as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 2
    customers = {resources["customer"]["id"]: resources["customer"]}
    print(json.dumps(canonical_invoice(resources["invoice"], customers), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
