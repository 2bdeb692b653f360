"""The notifications use cases: statements, staff alerts, webhooks, and their delivery."""
