"""`python -m sandbox`: the simulated clearinghouse and payers `rcm up` starts."""

from services.chassis.serve import serve

serve("sandbox", "sandbox.app:create_app")
