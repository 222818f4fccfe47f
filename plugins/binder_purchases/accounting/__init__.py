"""Accounting assignment of purchase invoices: PCG accounts, VAT codes, rules, model, suppliers."""
