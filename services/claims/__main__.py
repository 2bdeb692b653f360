from services.chassis.serve import serve

serve("claims", "services.claims.app:create_app")
