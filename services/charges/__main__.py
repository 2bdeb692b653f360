from services.chassis.serve import serve

serve("charges", "services.charges.app:create_app")
