from services.chassis.serve import serve

serve("notifications", "services.notifications.app:create_app")
