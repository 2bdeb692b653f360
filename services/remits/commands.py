"""`rcm remits ...`: the remits service's own commands."""

from services.chassis.commands import service_group

app = service_group("remits", "Remits: 835 posting, denials, underpayments and patient balances.")
