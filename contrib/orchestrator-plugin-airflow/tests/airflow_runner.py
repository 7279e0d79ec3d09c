"""Runs ``dag.test()`` on the DAG of a DAG file and prints, as its last line, the run's state and
each task's state and try number as JSON. Arguments: the DAG file, the logical date (ISO 8601, or
empty for Airflow's default) and the run's conf (JSON)."""

import importlib.util
import json
import sys
from datetime import datetime


def main() -> None:
    path, logical_date, conf = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    spec = importlib.util.spec_from_file_location("dag_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kwargs = {"run_conf": conf or None}
    if logical_date:
        kwargs["logical_date"] = datetime.fromisoformat(logical_date)
    run = module.dag.test(**kwargs)
    tasks = {ti.task_id: {"state": str(ti.state), "try_number": ti.try_number} for ti in run.get_task_instances()}
    print(json.dumps({"state": str(run.state), "tasks": tasks}))


main()
