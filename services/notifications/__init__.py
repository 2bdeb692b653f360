"""Notifications: patient statements, staff alerts and signed webhooks."""
