from oversight_runtime.migrations import run_migrations, service_metadata
from oversight_support_coordination.storage import TABLES

run_migrations(service_metadata(*TABLES))
