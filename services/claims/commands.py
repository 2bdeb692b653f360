"""`rcm claims ...`: the claims service's own commands."""

from services.chassis.commands import service_group

app = service_group("claims", "Claims: assembly, scrubbing, submission and acknowledgments.")
