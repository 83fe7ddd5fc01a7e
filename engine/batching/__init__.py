"""Many circuits at once: the runner behind `engine.batch` (runner), what its tasks
run and how each way a task ends becomes a result (tasks), the worker processes
with their per-task time limits (workers, on pebble), the in-thread limit for
executors that cannot stop a task (deadline), the Dask executor (dask), and the
batch reports (json, junit, github).

Named ``batching`` rather than ``batch``: a subpackage becomes an attribute of
`engine` when imported, and would replace the public function `engine.batch`.
"""
