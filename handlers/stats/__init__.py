"""Statistics (统计): the KPIs of any period and slice (`kpi`), periods in Asia/Shanghai (`periods`), the period
reports management receives (`report`), and the ``[stats]`` settings (`settings`). Plain functions on a database
session returning plain dataclasses (``dataclasses.asdict`` gives JSON), for the console, the CLI, the worker
and the API alike."""
