"""The five-phase deployment pipeline (create → start → provision → verify → finalize), resumable and leased.

``runner.run_deployment`` is what the ``run_deployment`` job calls; ``lease`` keeps two workers from running the
same deployment; ``reconciler`` re-enqueues deployments whose worker died; ``cleanup`` applies ``on_failure``.
"""
