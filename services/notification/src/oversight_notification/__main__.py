from oversight_notification.main import run

run()
