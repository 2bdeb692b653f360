from services.chassis.serve import serve
from services.remits.app import create_app

serve("remits", create_app)
