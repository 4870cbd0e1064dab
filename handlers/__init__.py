"""Everything the service decides, as plain functions on a database session (never Flask)."""

# The KPI facts are kept in the transaction of every change (a flush listener on every ORM session); importing
# any handler registers it, so every process that changes a complaint maintains them.
from handlers.stats import facts as _kpi_facts  # noqa: F401
