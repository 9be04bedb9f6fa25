from oversight_metrics.main import run

run()
