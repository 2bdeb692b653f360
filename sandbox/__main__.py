"""`python -m sandbox`: the simulated clearinghouse and payers `rcm up` starts."""

from sandbox.app import create_app
from services.chassis.serve import serve

serve("sandbox", create_app)
