from oversight_support_coordination.main import run

run()
