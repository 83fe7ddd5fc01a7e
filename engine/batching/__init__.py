"""Many circuits at once: the runner behind `engine.batch`, the process pool and its
per-task timeouts, the Dask executor, and the batch reports (json, junit, github).

Named ``batching`` rather than ``batch``: a subpackage becomes an attribute of
`engine` when imported, and would replace the public function `engine.batch`.
"""
