"""Charges: validates and posts charges against encounters; owns the encounter record."""
