from oversight_ingest.main import run

run()
