from services.chassis.serve import serve
from services.claims.app import create_app

serve("claims", create_app)
