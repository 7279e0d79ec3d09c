"""The quickstart's own Python steps, called through ``python.call``."""


def clean_customers(rows):
    """Trim and lower-case e-mail addresses, upper-case country codes."""
    for row in rows:
        row["email"] = row["email"].strip().lower()
        row["country"] = row["country"].strip().upper()
    return rows


def add_total(rows, vat_rate=0.0):
    """Add each order line's total, VAT included."""
    for row in rows:
        row["total"] = round(row["quantity"] * row["unit_price"] * (1 + vat_rate), 2)
    return rows
