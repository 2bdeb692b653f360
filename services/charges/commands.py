"""`rcm charges ...`: the charges service's own commands."""

from services.chassis.commands import service_group

app = service_group("charges", "Charges: encounters, charge posting, the chargemaster.")
