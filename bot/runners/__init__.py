"""The processes the command line starts, one module per verb (``serve``, ``socket``, ``clock``,
``digest``, ``check``), the composition root they share, and the scheduler."""
