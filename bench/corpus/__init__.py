"""Labelled synthetic purchase-invoice corpus for the extraction benchmark."""
