"""`rcm notifications ...`: the notifications service's own commands."""

from services.chassis.commands import service_group

app = service_group("notifications", "Notifications: statements, staff alerts and webhooks.")
