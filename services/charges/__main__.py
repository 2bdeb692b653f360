from services.charges.app import create_app
from services.chassis.serve import serve

serve("charges", create_app)
