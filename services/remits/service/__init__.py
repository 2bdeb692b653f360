"""The remits use cases: remittances, suspense, the books across payers, patient payments."""
