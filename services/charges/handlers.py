"""Events in -> domain calls. The charges handlers arrive with their issue; the chassis already
consumes the service's topics, dead-letters what breaks its contract and ignores the rest."""

from services.chassis.consumer import Handler

HANDLERS: dict[str, Handler] = {}
