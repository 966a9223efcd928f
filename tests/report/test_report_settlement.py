"""The report's Settlement section (twin/report/build.py settlement_html) from summary.json's
ledger block: totals per product and party with units, the head hash to check the file by."""

from __future__ import annotations

from twin.report.build import settlement_html


def test_settlement_table_has_units_values_and_the_head_hash():
    summary = {
        "ledger": {
            "entries": 18,
            "interval_s": 1800,
            "currency": "JPY",
            "head_hash": "ab" * 32,
            "totals": {
                "reserve": {"commanded_kwh": 7.5, "payment": 122.25, "penalty": 2.0, "net": 120.25},
                "customer_bill:phev": {"bill": 41.0, "bill_without_service": 0.0},
            },
        }
    }
    html = settlement_html(summary)
    for text in ("commanded (kWh)", "payment (JPY)", "bill without service (JPY)", "122", "120"):
        assert text in html, text
    assert "abababababababab" in html and "twin verify" in html
    assert "customer_bill:phev" in html


def test_no_ledger_no_section():
    assert settlement_html({}) == ""
    assert settlement_html({"ledger": {"totals": {}}}) == ""
