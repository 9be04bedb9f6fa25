from oversight_ingest.storage import TABLES
from oversight_runtime.migrations import run_migrations, service_metadata

run_migrations(service_metadata(*TABLES))
