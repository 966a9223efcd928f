"""The Services tab's settlement table (twin/dashboard/tables.settlement) from summary.json's
ledger block, and replay filling View.ledger from a results folder's summary."""

from __future__ import annotations

from twin.dashboard import tables


def test_settlement_rows_per_product_with_currency():
    ledger = {
        "currency": "JPY",
        "totals": {
            "reserve": {"commanded_kwh": 7.5, "payment": 122.25, "penalty": 2.0, "net": 120.25},
            "customer_bill:phev": {"bill": 41.0, "bill_without_service": 0.0},
        },
    }
    frame = tables.settlement(ledger)
    assert list(frame["product / party"]) == ["reserve", "customer_bill:phev"]
    assert "payment (JPY)" in frame.columns and "commanded (kWh)" in frame.columns
    assert frame.loc[0, "net (JPY)"].startswith("120")
    assert frame.loc[1, "bill without service (JPY)"] in ("0", "0.0", "0.00")
