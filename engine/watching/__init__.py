"""Hot reload: filesystem events debounced into batches of changed paths (`events`,
which knows nothing of circuits), the catalog of last good results (`catalog`), and
the watch session that ties them together (`session`, behind `engine.watch`).

Named ``watching`` rather than ``watch``: a subpackage becomes an attribute of
`engine` when imported, and would replace the public function `engine.watch`.
"""
