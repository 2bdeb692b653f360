"""The `rcm` command."""

from services.chassis.logs import quiet_known_warnings

quiet_known_warnings()
