"""Remits: posts 835 remittances to the ledger; denials, underpayments, patient balances."""
