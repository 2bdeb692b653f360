from services.chassis.serve import serve

serve("remits", "services.remits.app:create_app")
